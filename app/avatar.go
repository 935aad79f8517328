package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/cache"
)

// AvatarStatus is the avatar pack's preload, for the UI.
type AvatarStatus struct {
	Pack        string // the pack's name, once a manifest is known
	Done, Total int    // assets in the cache, of those the manifest lists
	Fetched     int    // downloaded by the last sync (0 on a warm start)
	Ready       bool   // every layer is decoded: the avatar can be drawn
	Problem     string // why the avatar could not be loaded, for a person
}

// AvatarFrame is what the avatar view draws at one moment: Face with Mouth
// over it, or Video when the agent shows live video (hybrid mode). Face is
// nil until a pack is loaded.
//
// The pack's layers are all Size pixels (512×512 for the built-in pack).
// Face and Mouth hold only the part of their layer that is not fully
// transparent, and their Bounds() say where that part sits in the layer:
// a mouth is about 60×40 pixels at (225,313), not a 512×512 image that is
// transparent but for the lips. Drawn at the layer's scale from the same
// origin, they line up as the full layers would.
type AvatarFrame struct {
	Face, Mouth image.Image
	Size        image.Point // the pack's layer size in pixels; zero until a pack is loaded
	Video       image.Image
	Expression  string  // neutral, listening, thinking, happy, surprised
	Open        float64 // the mouth's openness 0..1
}

// avatarState is the loaded pack and what the agent last said to show.
type avatarState struct {
	mu         sync.Mutex
	manifest   cache.Manifest
	rig        *avatar.Rig
	layers     *layerSet
	size       image.Point   // the layers' size before cropping
	expression string        // from the agent's avatar events
	face       string        // the face the agent named (a digest)
	mode       string        // api.ModeAssets or api.ModeVideo
	saved      []byte        // the JSON of the manifest shown, as saved in manifestFile
	cached     chan struct{} // closed once loadCachedAvatar has run
}

// avatarBudget caps the asset cache: room for a few packs.
const avatarBudget = 256 << 20

// cacheDir is the asset cache's root (its store is in "assets" under it).
func (a *App) cacheDir() string {
	if a.cfg.CacheDir != "" {
		return a.cfg.CacheDir
	}
	return filepath.Dir(cache.DefaultDir())
}

func (a *App) manifestFile() string { return filepath.Join(a.cacheDir(), "avatar-manifest.json") }

// openStore opens the asset cache once.
func (a *App) openStore() (*cache.Store, error) {
	a.storeMu.Lock()
	defer a.storeMu.Unlock()
	if a.store != nil {
		return a.store, nil
	}
	s, err := cache.Open(filepath.Join(a.cacheDir(), "assets"), cache.Options{Budget: avatarBudget, Log: a.cfg.Log})
	if err != nil {
		return nil, err
	}
	a.store = s
	return s, nil
}

// loadCachedAvatar shows the avatar at once from the cache: the manifest
// of the last sync, if every asset it names is still cached and intact.
func (a *App) loadCachedAvatar() {
	defer close(a.avatar.cached)
	b, err := os.ReadFile(a.manifestFile())
	if err != nil {
		return // first start
	}
	m, err := cache.ParseManifest(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		a.log.Warn("the saved avatar manifest is unreadable; it will be fetched again", "err", err)
		return
	}
	store, err := a.openStore()
	if err != nil {
		a.avatarProblem(err)
		return
	}
	for _, as := range m.Assets {
		if !store.Has(as.Hash) {
			return // the sync fetches what is missing
		}
	}
	if err := a.useManifest(store, m, 0); err != nil {
		a.log.Info("cached avatar incomplete; waiting for the sync", "err", err)
		return
	}
	a.avatar.mu.Lock()
	a.avatar.saved = b
	a.avatar.mu.Unlock()
}

// syncAvatar brings the cache up to date with the agent's pack (fetching
// only what is missing) and loads it. A corrupted cached file is fetched
// again.
func (a *App) syncAvatar(ctx context.Context, agentURL, token string) {
	store, err := a.openStore()
	if err != nil {
		a.avatarProblem(err)
		return
	}
	opts := cache.SyncOptions{BaseURL: agentURL, Token: token, Log: a.cfg.Log, Progress: func(p cache.Progress) {
		a.update(func(s *Status) bool {
			s.Avatar.Done, s.Avatar.Total = p.Done, p.Total
			return true
		})
	}}
	rep, err := cache.Sync(ctx, store, opts)
	if err != nil {
		a.avatarProblem(err)
		return
	}
	saved, err := json.Marshal(rep.Manifest)
	if err != nil {
		a.avatarProblem(err)
		return
	}
	select { // a warm start's cached pack is being decoded: wait for it
	case <-a.avatar.cached:
	case <-ctx.Done():
		return
	}
	a.avatar.mu.Lock()
	unchanged := rep.Fetched == 0 && bytes.Equal(saved, a.avatar.saved)
	a.avatar.mu.Unlock()
	if unchanged {
		return // the cache already shows this very pack
	}
	if err := a.useManifest(store, rep.Manifest, rep.Fetched); err != nil {
		var bad *corruptAsset
		if !errors.As(err, &bad) {
			a.avatarProblem(err)
			return
		}
		// A file went bad in the cache since the sync looked: fetch it again.
		if err := cache.Fetch(ctx, store, opts, bad.asset); err != nil {
			a.avatarProblem(err)
			return
		}
		if err := a.useManifest(store, rep.Manifest, rep.Fetched+1); err != nil {
			a.avatarProblem(err)
			return
		}
	}
	if err := renameio.WriteFile(a.manifestFile(), saved, 0o644); err != nil {
		a.log.Warn("saving the avatar manifest", "err", err)
	}
	a.avatar.mu.Lock()
	a.avatar.saved = saved
	a.avatar.mu.Unlock()
}

type corruptAsset struct {
	asset cache.Asset
	err   error
}

func (c *corruptAsset) Error() string { return c.err.Error() }
func (c *corruptAsset) Unwrap() error { return c.err }

// useManifest decodes every image of m from the store and makes it the
// avatar. A file that fails its SHA-256 check is reported as corruptAsset
// (the store has already evicted it).
func (a *App) useManifest(store *cache.Store, m cache.Manifest, fetched int) error {
	entries := make([]avatar.Entry, 0, len(m.Assets))
	layers := newLayerSet()
	var size image.Point
	for _, as := range m.Assets {
		b, err := store.ReadFile(as.Hash)
		if err != nil {
			if errors.Is(err, cache.ErrCorrupt) || errors.Is(err, cache.ErrNotFound) {
				return &corruptAsset{asset: as, err: err}
			}
			return err
		}
		f := avatar.File{Name: as.Name, MediaType: as.MediaType, Data: b}
		img, err := avatar.Decode(f)
		if err != nil {
			return fmt.Errorf("avatar asset %s: %w", as.Name, err)
		}
		layers.add(string(as.Hash), f, img)
		size.X, size.Y = max(size.X, img.Bounds().Max.X), max(size.Y, img.Bounds().Max.Y)
		entries = append(entries, avatar.Entry{Hash: string(as.Hash), Name: as.Name, Tags: as.Tags})
	}
	rig, err := avatar.NewRig(entries)
	if err != nil {
		return err
	}
	store.SetPinned(m.Digests())
	a.avatar.mu.Lock()
	a.avatar.manifest, a.avatar.rig, a.avatar.layers, a.avatar.size = m, rig, layers, size
	a.avatar.mu.Unlock()
	a.update(func(s *Status) bool {
		s.Avatar = AvatarStatus{Pack: m.Pack, Done: len(m.Assets), Total: len(m.Assets), Fetched: fetched, Ready: true}
		return true
	})
	return nil
}

func (a *App) avatarProblem(err error) {
	a.log.Warn("avatar", "err", err)
	a.update(func(s *Status) bool {
		if s.Avatar.Ready {
			return false // the cached pack still shows
		}
		s.Avatar.Problem = "The avatar could not be loaded: " + err.Error()
		return true
	})
}

// onAvatarEvent applies an avatar or media_mode event.
func (a *App) onAvatarEvent(e api.Event) {
	a.avatar.mu.Lock()
	defer a.avatar.mu.Unlock()
	switch e.Type {
	case api.TypeAvatar:
		a.avatar.expression, a.avatar.face = e.Expression, e.Asset
	case api.TypeMediaMode:
		a.avatar.mode = e.Mode
	}
}

// resetAvatar returns the avatar to its idle face (a call ended).
func (a *App) resetAvatar() {
	a.avatar.mu.Lock()
	defer a.avatar.mu.Unlock()
	a.avatar.expression, a.avatar.face, a.avatar.mode = "", "", ""
}

// Blinks: eyes close for blinkFor every blinkEvery (a little irregular).
const (
	blinkEvery = 4100 * time.Millisecond
	blinkFor   = 140 * time.Millisecond
)

func blinking(t time.Time) bool {
	ms := t.UnixMilli()
	period := blinkEvery.Milliseconds() + (ms/blinkEvery.Milliseconds())%3*700 // 4.1, 4.8 or 5.5 s
	return ms%period < blinkFor.Milliseconds()
}

// Avatar returns what the avatar view shows at t (call it with time.Now()
// for every frame it draws): the face for the agent's expression (blinking
// now and then), the mouth of the agent's voice heard at t, or the agent's
// live video in hybrid mode. Face is nil until a pack is loaded.
func (a *App) Avatar(t time.Time) AvatarFrame {
	c := a.currentCall()
	var mouth api.MouthSample
	if c != nil {
		mouth = c.Mouth(t)
	}
	a.avatar.mu.Lock()
	defer a.avatar.mu.Unlock()
	f := AvatarFrame{Expression: a.avatar.expression, Open: mouth.Open}
	if a.avatar.mode == api.ModeVideo && c != nil {
		if v, _ := c.Video(); v != nil {
			f.Video = v
		}
	}
	rig := a.avatar.rig
	if rig == nil {
		return f
	}
	if f.Expression == "" {
		f.Expression = avatar.Neutral
	}
	face, blink := a.avatar.face, blinking(t)
	if !a.avatar.layers.has(face) || blink {
		face = rig.Face(f.Expression, blink)
	}
	lips := rig.Rest(f.Expression)
	if mouth.Open > 0 {
		lips = rig.Mouth(mouth.Open, mouth.Rounded)
	}
	var err error
	if f.Face, err = a.avatar.layers.get(face); err != nil {
		a.log.Warn("avatar", "err", err)
	}
	if f.Mouth, err = a.avatar.layers.get(lips); err != nil {
		a.log.Warn("avatar", "err", err)
	}
	f.Size = a.avatar.size
	return f
}

// cropRGBA returns the smallest rectangle of img that holds every pixel
// with a non-zero alpha, as a new *image.RGBA (alpha-premultiplied, as GL
// textures are) whose Bounds() are that rectangle in img's coordinates; a
// fully transparent img gives an empty image.
//
// Why RGBA: Fyne uploads an *image.RGBA as it is; any other image it first
// draws into a new RGBA each time it is shown: for a 512×512 layer 1 MB of
// garbage and a few ms of CPU at every change of face or mouth (up to 25 a
// second while the agent speaks). Why cropped: a mouth layer is transparent
// but for about 60×40 pixels; whole, the built-in pack's nine mouths held
// 9.4 MB of heap, and the window's software rasterizer blended every
// transparent pixel of the mouth over the face at every repaint.
func cropRGBA(img image.Image) *image.RGBA {
	// PNG layers decode as *image.NRGBA: read their alpha bytes directly
	// (img.At would box every pixel of 19 layers at each start).
	visible := func(x, y int) bool {
		_, _, _, a := img.At(x, y).RGBA()
		return a != 0
	}
	switch m := img.(type) {
	case *image.NRGBA:
		visible = func(x, y int) bool { return m.Pix[m.PixOffset(x, y)+3] != 0 }
	case *image.RGBA:
		visible = func(x, y int) bool { return m.Pix[m.PixOffset(x, y)+3] != 0 }
	}
	b := img.Bounds()
	opaque := image.Rectangle{Min: b.Max, Max: b.Min}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if visible(x, y) {
				opaque.Min.X, opaque.Max.X = min(opaque.Min.X, x), max(opaque.Max.X, x+1)
				opaque.Min.Y, opaque.Max.Y = min(opaque.Min.Y, y), max(opaque.Max.Y, y+1)
			}
		}
	}
	if opaque.Empty() {
		return &image.RGBA{}
	}
	rgba := image.NewRGBA(opaque)
	draw.Draw(rgba, opaque, img, opaque.Min, draw.Src)
	return rgba
}
