package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/cache"
)

// assetServer serves an avatar pack under /v1/assets (docs/protocol.md):
// its manifest, and each file by the SHA-256 digest of its bytes.
type assetServer struct {
	manifest []byte // the manifest's JSON
	etag     string // of the manifest: a digest of its JSON, quoted
	files    map[cache.Digest]avatar.File
	rig      *avatar.Rig
}

func newAssetServer(p *avatar.Pack) (*assetServer, error) {
	rig, err := avatar.NewRig(p.Entries())
	if err != nil {
		return nil, err
	}
	m := cache.Manifest{Version: cache.ManifestVersion, Pack: p.Name}
	files := make(map[cache.Digest]avatar.File, len(p.Files))
	for _, f := range p.Files {
		d, err := cache.ParseDigest(f.Hash)
		if err != nil {
			return nil, err
		}
		files[d] = f
		m.Assets = append(m.Assets, cache.Asset{Hash: d, Size: int64(len(f.Data)), MediaType: f.MediaType, Name: f.Name, Tags: f.Tags})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return &assetServer{manifest: b, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, files: files, rig: rig}, nil
}

// face implements FaceFunc: the face with open eyes for an expression.
func (a *assetServer) face(expression string) string { return a.rig.Face(expression, false) }

// serveManifest is GET /v1/assets/manifest. It changes only when the agent
// restarts with another pack, so clients revalidate it with its ETag.
func (a *assetServer) serveManifest(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", api.ContentTypeJSON)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.manifest))
}

// serveAsset is GET /v1/assets/{sha256}: 400 for a malformed digest, 404
// for one the pack lacks, else the bytes, immutable, with the digest as
// the ETag (conditional and range requests through http.ServeContent).
func (a *assetServer) serveAsset(w http.ResponseWriter, r *http.Request) {
	d, err := cache.ParseDigest(r.PathValue("digest"))
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadDigest, "an asset is named by the lowercase hex SHA-256 of its bytes (64 characters)")
		return
	}
	f, ok := a.files[d]
	if !ok {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "this agent has no asset "+string(d))
		return
	}
	w.Header().Set("Content-Type", f.MediaType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+string(d)+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Data))
}

// noAssets answers /v1/assets when the agent serves no avatar pack.
func noAssets(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, api.CodeNotFound, "this agent serves no avatar pack")
}
