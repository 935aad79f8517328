// Package openaitest is a fake OpenAI-compatible server for tests: it
// speaks the real wire format of the three endpoints Parley uses, as the
// OpenAI API reference documents them (platform.openai.com/docs/api-reference):
//
//   - POST /v1/chat/completions with "stream": true → text/event-stream of
//     "data: {chat.completion.chunk}" lines, then "data: [DONE]";
//   - POST /v1/audio/transcriptions, multipart/form-data with "file" and
//     "model" → {"text": "..."};
//   - POST /v1/audio/speech, JSON {model, input, voice, response_format} →
//     the audio bytes (response_format "pcm": raw 24 kHz mono s16le);
//   - GET /v1/models → {"object": "list", "data": [{"id": ...}]}.
//
// What the fake answers and how slowly are fields of Server; errors are the
// API's error object {"error": {"message", "type", "code"}}.
package openaitest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// ChatMessage is one message of a chat request as the fake received it.
type ChatMessage struct {
	Role     string
	Text     string
	ImageURL string // the data: URL of an image part, if any
}

// ChatRequest is what a chat completion request carried.
type ChatRequest struct {
	Model    string
	Stream   bool
	Messages []ChatMessage
}

// Server is a fake OpenAI-compatible API. Set its fields before Start.
type Server struct {
	// Models lists the model ids GET /v1/models returns.
	Models []string

	// Reply makes the chat reply; nil echoes the last user message.
	Reply func(req ChatRequest) string
	// FirstToken is the delay before the first chunk (time to first
	// token); TokenGap the delay between chunks.
	FirstToken, TokenGap time.Duration
	// ChatStatus, when not 0, fails chat requests with this status.
	ChatStatus int

	// Transcribe makes the transcript of an uploaded WAV file; nil answers
	// "hello".
	Transcribe func(wav []byte) string
	// STTDelay is how long a transcription takes.
	STTDelay time.Duration
	// STTStatus, when not 0, fails transcriptions with this status.
	STTStatus int

	// Speak makes 24 kHz mono PCM for a text; nil makes 60 ms of a 220 Hz
	// tone per word.
	Speak func(text string) []int16
	// TTSDelay is how long speech synthesis takes.
	TTSDelay time.Duration
	// TTSStatus, when not 0, fails speech requests with this status.
	TTSStatus int

	*httptest.Server

	mu       sync.Mutex
	chats    []ChatRequest
	uploads  []Upload
	speeches []string
	aborted  int
}

// Upload is a transcription request as the fake received it.
type Upload struct {
	Model, Filename, ContentType string
	WAV                          []byte
}

// Start starts the fake on a loopback port; its API root is URL()+"/v1".
func (s *Server) Start() *Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /v1/audio/transcriptions", s.transcribe)
	mux.HandleFunc("POST /v1/audio/speech", s.speech)
	mux.HandleFunc("GET /v1/models", s.models)
	s.Server = httptest.NewServer(mux)
	return s
}

// BaseURL is the API root to configure a client with.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Chats returns the chat requests received so far.
func (s *Server) Chats() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChatRequest(nil), s.chats...)
}

// Uploads returns the transcription requests received so far.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// Speeches returns the texts sent for speech so far.
func (s *Server) Speeches() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.speeches...)
}

// Aborted counts chat streams the client hung up on before the end.
func (s *Server) Aborted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aborted
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": "server_error", "param": nil, "code": nil,
	}})
}

// wait sleeps d unless the request is cancelled first.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	req := ChatRequest{Model: body.Model, Stream: body.Stream}
	for _, m := range body.Messages {
		cm := ChatMessage{Role: m.Role}
		var text string
		var parts []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			ImageURL struct {
				URL string `json:"url"`
			} `json:"image_url"`
		}
		switch {
		case json.Unmarshal(m.Content, &text) == nil:
			cm.Text = text
		case json.Unmarshal(m.Content, &parts) == nil:
			for _, p := range parts {
				switch p.Type {
				case "text":
					cm.Text += p.Text
				case "image_url":
					cm.ImageURL = p.ImageURL.URL
				}
			}
		default:
			apiError(w, http.StatusBadRequest, "content must be a string or an array of parts")
			return
		}
		req.Messages = append(req.Messages, cm)
	}
	s.mu.Lock()
	s.chats = append(s.chats, req)
	s.mu.Unlock()
	if s.ChatStatus != 0 {
		apiError(w, s.ChatStatus, "the model is not available")
		return
	}
	reply := ""
	if s.Reply != nil {
		reply = s.Reply(req)
	} else if n := len(req.Messages); n > 0 {
		reply = req.Messages[n-1].Text
	}
	if !req.Stream {
		apiError(w, http.StatusBadRequest, "the fake only streams")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	created := time.Now().Unix()
	send := func(delta map[string]any, finish any) bool {
		chunk := map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
			"model": req.Model, "system_fingerprint": "fp_fake",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
		b, _ := json.Marshal(chunk)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	if !wait(r, s.FirstToken) || !send(map[string]any{"role": "assistant", "content": ""}, nil) {
		s.abort()
		return
	}
	for i, tok := range tokens(reply) {
		if i > 0 && !wait(r, s.TokenGap) {
			s.abort()
			return
		}
		if !send(map[string]any{"content": tok}, nil) {
			s.abort()
			return
		}
	}
	send(map[string]any{}, "stop")
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

func (s *Server) abort() {
	s.mu.Lock()
	s.aborted++
	s.mu.Unlock()
}

// tokens splits text the way a model streams it: a word and the space
// before it per chunk.
func tokens(text string) []string {
	var out []string
	for _, w := range strings.SplitAfter(text, " ") {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

func (s *Server) transcribe(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		apiError(w, http.StatusBadRequest, "expected multipart/form-data: "+err.Error())
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		apiError(w, http.StatusBadRequest, "missing file")
		return
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	up := Upload{Model: r.FormValue("model"), Filename: hdr.Filename, ContentType: hdr.Header.Get("Content-Type"), WAV: b}
	s.mu.Lock()
	s.uploads = append(s.uploads, up)
	s.mu.Unlock()
	if up.Model == "" {
		apiError(w, http.StatusBadRequest, "missing model")
		return
	}
	if !wait(r, s.STTDelay) {
		return
	}
	if s.STTStatus != 0 {
		apiError(w, s.STTStatus, "transcription failed")
		return
	}
	text := "hello"
	if s.Transcribe != nil {
		text = s.Transcribe(b)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"text": text})
}

func (s *Server) speech(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model          string `json:"model"`
		Input          string `json:"input"`
		Voice          string `json:"voice"`
		ResponseFormat string `json:"response_format"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	s.speeches = append(s.speeches, body.Input)
	s.mu.Unlock()
	if body.Model == "" || body.Voice == "" || body.Input == "" {
		apiError(w, http.StatusBadRequest, "model, voice and input are required")
		return
	}
	if body.ResponseFormat != "pcm" {
		apiError(w, http.StatusBadRequest, "the fake only makes response_format pcm")
		return
	}
	if !wait(r, s.TTSDelay) {
		return
	}
	if s.TTSStatus != 0 {
		apiError(w, s.TTSStatus, "speech failed")
		return
	}
	var pcm []int16
	if s.Speak != nil {
		pcm = s.Speak(body.Input)
	} else {
		pcm = Tone(len(strings.Fields(body.Input)) * 60 * 24)
	}
	w.Header().Set("Content-Type", "audio/pcm")
	_ = binary.Write(w, binary.LittleEndian, pcm)
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	data := []any{}
	for _, m := range s.Models {
		data = append(data, map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "library"})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

// Tone returns n samples of a 220 Hz tone at 24 kHz, about -12 dBFS.
func Tone(n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		// a triangle wave is enough for a timing test and needs no math
		ph := (i * 220 * 4 / 24000) % 4
		frac := (i * 220 * 4 % 24000)
		v := frac * 8000 / 24000
		switch ph {
		case 0:
			out[i] = int16(v)
		case 1:
			out[i] = int16(8000 - v)
		case 2:
			out[i] = int16(-v)
		default:
			out[i] = int16(v - 8000)
		}
	}
	return out
}
