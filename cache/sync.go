package cache

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Sync defaults.
const (
	defaultConcurrency = 4
	defaultHTTPTimeout = 60 * time.Second // one request, body included
	maxErrorBody       = 4 << 10          // bytes of an error reply read for its message
)

// SyncOptions says where Sync fetches from and how.
type SyncOptions struct {
	BaseURL      string         // the agent, e.g. http://127.0.0.1:1234
	Token        string         // sent as "Authorization: Bearer <token>" when not empty
	Client       *http.Client   // nil: a client of its own with a 60 s timeout per request
	Concurrency  int            // assets fetched at once; ≤ 0: 4
	MaxAssetSize int64          // bytes; ≤ 0 or more than MaxAssetSize: MaxAssetSize
	Progress     func(Progress) // called at the start and after each asset, never concurrently; may be nil
	Log          *slog.Logger   // nil discards
}

// Progress of a Sync: assets (and their bytes, as the manifest gives them)
// fetched or failed so far, of those the store lacked.
type Progress struct {
	Done, Total       int
	Bytes, TotalBytes int64
}

// SyncReport says what Sync did.
type SyncReport struct {
	Manifest     Manifest
	Fetched      int           // assets fetched and stored
	FetchedBytes int64         // their bytes
	Present      int           // assets the store already had
	Failed       []*AssetError // assets that could not be fetched, by name
}

// AssetError is the failure to fetch one asset.
type AssetError struct {
	Asset Asset
	Err   error
}

func (e *AssetError) Error() string {
	return fmt.Sprintf("asset %q (%s): %v", e.Asset.Name, e.Asset.Hash.Short(), e.Err)
}

func (e *AssetError) Unwrap() error { return e.Err }

// HTTPError is an error status from the agent. Code and Message come from
// its JSON error body ({"error": code, "message": text}) when it has one.
type HTTPError struct {
	URL        string
	StatusCode int
	Code       string
	Message    string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.Message != "" && e.Code != "":
		s += ": " + e.Message + " (" + e.Code + ")"
	case e.Message != "" || e.Code != "":
		s += ": " + e.Message + e.Code
	}
	return s
}

// Sync brings store up to date with the agent's avatar pack: it fetches the
// manifest (GET {BaseURL}/v1/assets/manifest), pins its assets, and fetches
// the ones the store lacks (GET {BaseURL}/v1/assets/{hash}), at most
// opts.Concurrency at a time. Each asset is verified (size, Content-Type,
// SHA-256) before it is stored; a rejected one stores nothing and the others
// still complete. The error is the manifest's failure, or the assets'
// failures joined (each an *AssetError, also listed in the report).
//
// The pack is pinned before its assets are fetched, so that fetching them
// under a small budget evicts older assets rather than the pack's own.
func Sync(ctx context.Context, store *Store, opts SyncOptions) (SyncReport, error) {
	o, done, err := opts.withDefaults()
	if err != nil {
		return SyncReport{}, err
	}
	defer done()
	m, err := o.manifest(ctx)
	if err != nil {
		return SyncReport{}, err
	}
	rep := SyncReport{Manifest: m}
	store.SetPinned(m.Digests())

	var missing []Asset
	var prog Progress
	for _, a := range m.Assets {
		if store.Has(a.Hash) {
			rep.Present++
			continue
		}
		missing = append(missing, a)
		prog.Total++
		prog.TotalBytes += a.Size
	}
	o.Log.Debug("asset manifest", "pack", m.Pack, "assets", len(m.Assets), "missing", len(missing))

	var mu sync.Mutex // guards rep and prog, and serialises Progress calls
	progress := func() {
		if o.Progress != nil {
			o.Progress(prog)
		}
	}
	progress()
	var g errgroup.Group
	g.SetLimit(o.Concurrency)
	for _, a := range missing {
		g.Go(func() error {
			n, err := o.fetch(ctx, store, a)
			mu.Lock()
			defer mu.Unlock()
			prog.Done++
			prog.Bytes += a.Size
			if err != nil {
				rep.Failed = append(rep.Failed, err)
			} else {
				rep.Fetched++
				rep.FetchedBytes += n
			}
			progress()
			return nil
		})
	}
	g.Wait()
	if len(rep.Failed) == 0 {
		return rep, nil
	}
	slices.SortFunc(rep.Failed, func(a, b *AssetError) int { return cmp.Compare(a.Asset.Name, b.Asset.Name) })
	errs := make([]error, len(rep.Failed))
	for i, f := range rep.Failed {
		errs[i] = f
		o.Log.Warn("asset not fetched", "asset", f.Asset.Name, "hash", string(f.Asset.Hash), "err", f.Err)
	}
	return rep, fmt.Errorf("cache: sync of pack %q: %d of %d assets failed: %w", m.Pack, len(errs), len(missing), errors.Join(errs...))
}

// Fetch fetches one asset from the agent into store, verified as by Sync
// (to replace an asset that a read found corrupt, say). The error is an
// *AssetError.
func Fetch(ctx context.Context, store *Store, opts SyncOptions, asset Asset) error {
	o, done, err := opts.withDefaults()
	if err != nil {
		return err
	}
	defer done()
	if _, err := o.fetch(ctx, store, asset); err != nil {
		return err
	}
	return nil
}

// withDefaults checks o and fills in its defaults. done releases the
// connections of a client it made.
func (o SyncOptions) withDefaults() (SyncOptions, func(), error) {
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, nil, fmt.Errorf("%w: %q", ErrBadURL, o.BaseURL)
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
	}
	if o.MaxAssetSize <= 0 || o.MaxAssetSize > MaxAssetSize {
		o.MaxAssetSize = MaxAssetSize
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Log = o.Log.With("component", "cache")
	done := func() {}
	if o.Client == nil {
		// A transport of our own, closed when done, so that no idle
		// connection outlives the call.
		t := http.DefaultTransport.(*http.Transport).Clone()
		o.Client = &http.Client{Transport: t, Timeout: defaultHTTPTimeout}
		done = t.CloseIdleConnections
	}
	return o, done, nil
}

// get sends an authenticated GET of path (below BaseURL) and returns the
// reply if it is 200 OK, else an *HTTPError.
func (o SyncOptions) get(ctx context.Context, path, accept string) (*http.Response, error) {
	u := o.BaseURL + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer closeBody(resp)
	he := &HTTPError{URL: u, StatusCode: resp.StatusCode}
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)); err == nil && json.Unmarshal(b, &body) == nil {
		he.Code, he.Message = clip(body.Error), clip(body.Message)
	}
	return nil, he
}

// manifest fetches and parses the agent's manifest.
func (o SyncOptions) manifest(ctx context.Context) (Manifest, error) {
	resp, err := o.get(ctx, "/v1/assets/manifest", "application/json")
	if err != nil {
		return Manifest{}, fmt.Errorf("cache: manifest: %w", err)
	}
	defer closeBody(resp)
	m, err := ParseManifest(resp.Body, MaxManifestSize)
	if err != nil {
		return Manifest{}, fmt.Errorf("cache: manifest from %s: %w", o.BaseURL, err)
	}
	return m, nil
}

// fetch fetches one asset into store and returns its size in bytes.
func (o SyncOptions) fetch(ctx context.Context, store *Store, a Asset) (int64, *AssetError) {
	n, err := o.fetchAsset(ctx, store, &a)
	if err != nil {
		return 0, &AssetError{Asset: a, Err: err}
	}
	return n, nil
}

func (o SyncOptions) fetchAsset(ctx context.Context, store *Store, a *Asset) (int64, error) {
	if _, err := ParseDigest(string(a.Hash)); err != nil {
		return 0, err
	}
	if err := a.check(); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if a.Size > o.MaxAssetSize {
		return 0, fmt.Errorf("%w: %d bytes, at most %d allowed", ErrTooLarge, a.Size, o.MaxAssetSize)
	}
	resp, err := o.get(ctx, "/v1/assets/"+string(a.Hash), a.MediaType)
	if err != nil {
		return 0, err
	}
	defer closeBody(resp)
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != a.MediaType {
		return 0, fmt.Errorf("%w: served as %q, listed as %q", ErrMediaType, clip(ct), a.MediaType)
	}
	if resp.ContentLength > a.Size {
		return 0, fmt.Errorf("%w: Content-Length %d, listed as %d bytes", ErrTooLarge, resp.ContentLength, a.Size)
	}
	return store.Put(ctx, resp.Body, a.Hash, a.Size)
}

// closeBody drains a little of a reply (so its connection can be reused)
// and closes it.
func closeBody(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}
