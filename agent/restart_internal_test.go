package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/media/rtc"
)

type quietHandler struct{}

func (quietHandler) Start(context.Context, Output) error { return nil }
func (quietHandler) OnAudio([]int16)                     {}
func (quietHandler) OnEvent(api.Event)                   {}
func (quietHandler) Stop()                               {}

// TestRestartConflict: a PATCH gets 409 conflict while another offer is
// being applied to the session, and once the session is closing.
func TestRestartConflict(t *testing.T) {
	f, _ := rtc.NewLoopback()
	srv, err := NewServer(Config{Token: "t", Factory: f, Handler: func() Handler { return quietHandler{} }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer srv.Close()
	defer hs.Close()
	pc, err := f.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	tr, _ := rtc.NewOpusTrack("mic", "test")
	if _, err := pc.AddTrack(tr); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CreateDataChannel(rtc.DataChannelLabel, nil); err != nil {
		t.Fatal(err)
	}
	send := func(method, url string, body string) (int, api.Error, *http.Response, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", api.ContentTypeSDP)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e api.Error
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e, resp, string(b)
	}
	gathered := func(o webrtc.SessionDescription, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		g := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(o); err != nil {
			t.Fatal(err)
		}
		<-g
		return pc.LocalDescription().SDP
	}
	status, e, resp, answer := send("POST", hs.URL+api.SessionsPath, gathered(pc.CreateOffer(nil)))
	if status != http.StatusCreated {
		t.Fatalf("POST: %d %+v", status, e)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	loc := resp.Header.Get("Location")
	restart := gathered(pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true}))
	ss := srv.byID[strings.TrimPrefix(loc, api.SessionsPath+"/")]
	if ss == nil {
		t.Fatalf("no session at %q", loc)
	}

	ss.renego.Lock() // another offer is being applied
	status, e, _, _ = send("PATCH", hs.URL+loc, restart)
	ss.renego.Unlock()
	if status != http.StatusConflict || e.Code != api.CodeConflict {
		t.Fatalf("PATCH during another renegotiation: %d %+v", status, e)
	}

	// Closing but still listed (close has begun; remove has not yet come).
	ss.mu.Lock()
	ss.closed = true
	ss.mu.Unlock()
	status, e, _, _ = send("PATCH", hs.URL+loc, restart)
	ss.mu.Lock()
	ss.closed = false // so that the server's Close ends it properly
	ss.mu.Unlock()
	if status != http.StatusConflict || e.Code != api.CodeConflict {
		t.Fatalf("PATCH of a closing session: %d %+v", status, e)
	}
}
