package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ManifestVersion is the manifest layout this package reads and writes;
// a manifest of any other version is refused.
const ManifestVersion = 1

// Limits of a manifest.
const (
	// MaxAssetSize is the largest asset a manifest may list: 8 MiB.
	MaxAssetSize = 8 << 20
	// MaxAssets is the most assets a manifest may list.
	MaxAssets = 4096
	// MaxManifestSize is the default cap, in bytes, on a manifest body.
	MaxManifestSize = 4 << 20
	// maxNameLen is the longest asset or pack name, in bytes.
	maxNameLen = 255
	// maxTags and maxTagLen bound an asset's tags (count; bytes each).
	maxTags, maxTagLen = 32, 64
)

// mediaTypes are the media types an asset may have.
var mediaTypes = map[string]bool{
	"image/png":        true,
	"image/jpeg":       true,
	"image/webp":       true,
	"image/svg+xml":    true,
	"application/json": true,
}

// Manifest lists the assets of an avatar pack, as served by the agent at
// GET /v1/assets/manifest.
type Manifest struct {
	Version int     `json:"version"` // ManifestVersion
	Pack    string  `json:"pack"`    // the avatar pack's name
	Assets  []Asset `json:"assets"`
}

// Asset is one file of a pack: its digest, size in bytes (1..MaxAssetSize),
// media type (one of image/png, image/jpeg, image/webp, image/svg+xml,
// application/json), a name unique in the pack (a plain name, not a path)
// and optional tags.
type Asset struct {
	Hash      Digest   `json:"hash"`
	Size      int64    `json:"size"`
	MediaType string   `json:"media_type"`
	Name      string   `json:"name"`
	Tags      []string `json:"tags,omitempty"`
}

// ParseManifest reads a manifest of at most maxBytes bytes (≤ 0:
// MaxManifestSize) from r and checks it: version, digests (normalised to
// lowercase), sizes, media types, names (non-empty, no "/", "\", ".." or
// control characters, unique), tags, no duplicate hashes, at most MaxAssets
// assets. Any failure is ErrBadManifest wrapped with the reason.
func ParseManifest(r io.Reader, maxBytes int64) (Manifest, error) {
	if maxBytes <= 0 {
		maxBytes = MaxManifestSize
	}
	b, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return Manifest{}, fmt.Errorf("cache: read manifest: %w", err)
	}
	if int64(len(b)) > maxBytes {
		return Manifest{}, fmt.Errorf("%w: larger than %d bytes", ErrBadManifest, maxBytes)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if err := m.check(); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	return m, nil
}

// check validates m and normalises its digests.
func (m *Manifest) check() error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("version %d, want %d", m.Version, ManifestVersion)
	}
	if err := checkName(m.Pack); err != nil {
		return fmt.Errorf("pack name: %v", err)
	}
	if len(m.Assets) > MaxAssets {
		return fmt.Errorf("%d assets, at most %d allowed", len(m.Assets), MaxAssets)
	}
	hashes := make(map[Digest]int, len(m.Assets))
	names := make(map[string]int, len(m.Assets))
	for i := range m.Assets {
		a := &m.Assets[i]
		if err := a.check(); err != nil {
			return fmt.Errorf("asset %d (%q): %v", i, clip(a.Name), err)
		}
		if j, dup := hashes[a.Hash]; dup {
			return fmt.Errorf("asset %d (%q): same hash as asset %d", i, a.Name, j)
		}
		if j, dup := names[a.Name]; dup {
			return fmt.Errorf("asset %d (%q): same name as asset %d", i, a.Name, j)
		}
		hashes[a.Hash], names[a.Name] = i, i
	}
	return nil
}

// check validates a and normalises its digest.
func (a *Asset) check() error {
	d, err := ParseDigest(string(a.Hash))
	if err != nil {
		return fmt.Errorf("hash: %v", unwrapped(err))
	}
	a.Hash = d
	if a.Size <= 0 || a.Size > MaxAssetSize {
		return fmt.Errorf("size %d out of range 1..%d bytes", a.Size, MaxAssetSize)
	}
	if !mediaTypes[a.MediaType] {
		return fmt.Errorf("media type %q not allowed", clip(a.MediaType))
	}
	if err := checkName(a.Name); err != nil {
		return fmt.Errorf("name: %v", err)
	}
	if len(a.Tags) > maxTags {
		return fmt.Errorf("%d tags, at most %d allowed", len(a.Tags), maxTags)
	}
	for _, t := range a.Tags {
		if t == "" || len(t) > maxTagLen || !utf8.ValidString(t) || strings.IndexFunc(t, unicode.IsControl) >= 0 {
			return fmt.Errorf("tag %q: want 1..%d bytes of text", clip(t), maxTagLen)
		}
	}
	return nil
}

// checkName accepts a plain name: 1..maxNameLen bytes of UTF-8 text, not a
// path (no "/", "\" or "..") and no control characters.
func checkName(n string) error {
	switch {
	case n == "":
		return errors.New("empty")
	case len(n) > maxNameLen:
		return fmt.Errorf("%d bytes, at most %d", len(n), maxNameLen)
	case !utf8.ValidString(n):
		return fmt.Errorf("%q is not UTF-8", clip(n))
	case strings.ContainsAny(n, `/\`) || strings.Contains(n, "..") || n == ".":
		return fmt.Errorf("%q looks like a path", clip(n))
	case strings.IndexFunc(n, unicode.IsControl) >= 0:
		return fmt.Errorf("%q has a control character", clip(n))
	}
	return nil
}

// unwrapped drops the sentinel's text from a wrapped error, for a message
// that already says what failed.
func unwrapped(err error) string {
	if u := errors.Unwrap(err); u != nil {
		return strings.TrimPrefix(strings.TrimPrefix(err.Error(), u.Error()), ": ")
	}
	return err.Error()
}

// Digests returns the digests of m's assets, in manifest order.
func (m Manifest) Digests() []Digest {
	out := make([]Digest, len(m.Assets))
	for i, a := range m.Assets {
		out[i] = a.Hash
	}
	return out
}

// Find returns the asset called name.
func (m Manifest) Find(name string) (Asset, bool) {
	for _, a := range m.Assets {
		if a.Name == name {
			return a, true
		}
	}
	return Asset{}, false
}
