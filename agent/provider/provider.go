// Package provider defines the speech and language providers that the
// agent's conversation pipeline calls: speech-to-text (STT), a language
// model (LLM) and text-to-speech (TTS). Implementations live in
// subpackages: openai (any OpenAI-compatible HTTP server: Ollama, llama.cpp
// server, speaches, Kokoro-FastAPI, LocalAI, OpenAI), sphinx (offline STT
// with pocketsphinx), espeak (offline TTS with the espeak-ng program), and
// the echo brain in this package for when no language model is configured.
package provider

import (
	"context"
	"errors"
)

// STTSampleRate is the sample rate of the audio given to an STT provider:
// 16 kHz mono signed 16-bit PCM, what speech recognisers are trained on.
const STTSampleRate = 16000

// STT turns speech into text.
type STT interface {
	// Transcribe returns the words spoken in pcm (16 kHz mono int16, one
	// utterance, typically 0.3–30 s). It returns "" and no error when it
	// heard no words, and ctx's error if ctx ends first.
	Transcribe(ctx context.Context, pcm []int16) (string, error)
	// Name says which provider and model this is, for logs and the UI.
	Name() string
}

// Roles of a Message, as in the OpenAI chat completions API.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one entry of a conversation's context.
type Message struct {
	Role string // RoleSystem, RoleUser or RoleAssistant
	Text string
	// Image is an optional JPEG (the caller's latest camera frame) sent with
	// a user message to a model that accepts images.
	Image []byte
}

// LLM is a language model that streams its reply.
type LLM interface {
	// Stream sends the conversation and calls onDelta with each piece of
	// the reply as it arrives (from the caller's goroutine, in order). It
	// returns the whole reply, or what had arrived and an error if the
	// model failed or ctx ended.
	Stream(ctx context.Context, msgs []Message, onDelta func(string)) (string, error)
	// Vision reports whether the model accepts image parts.
	Vision() bool
	// Name says which provider and model this is.
	Name() string
}

// TTS turns text into speech.
type TTS interface {
	// Synthesize speaks text (one sentence or a few) and returns 48 kHz
	// mono int16 PCM. It returns ctx's error if ctx ends first.
	Synthesize(ctx context.Context, text string) ([]int16, error)
	// Name says which provider and voice this is.
	Name() string
}

// ErrNotConfigured is returned (wrapped) by constructors when a provider
// lacks what it needs (a URL, a model, a program, a data file).
var ErrNotConfigured = errors.New("provider: not configured")
