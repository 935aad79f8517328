package avatar

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
)

// Limits on what Load accepts, against broken or hostile packs.
const (
	MaxFiles     = 256      // files listed in pack.json
	MaxFileSize  = 8 << 20  // bytes of one image
	MaxIndexSize = 1 << 20  // bytes of pack.json
	MaxPackSize  = 64 << 20 // bytes of all images together
	MinImageSize = 16       // pixels, the least Index.Size
	MaxImageSize = 4096     // pixels, the most Index.Size
	maxNameLen   = 128      // bytes of a file name or a pack name
)

// File is one layer of a loaded pack.
type File struct {
	Name      string
	MediaType string
	Tags      []string
	Size      int64  // bytes
	Hash      string // lowercase hex SHA-256 of Data
	Data      []byte // the encoded image
}

// Pack is a loaded avatar pack. A Pack is shared (Default returns the same
// one to every caller): treat it and its Files' Data as read-only.
type Pack struct {
	Name  string
	Size  int // width and height of every image, pixels
	Files []File

	byHash map[string]int // index in Files
}

//go:embed pack
var embedded embed.FS

// Default returns the pack embedded in the binary, loaded on first use and
// shared afterwards. It panics if the embedded pack does not load: that is
// a build bug (the package's tests load it), not a condition of the running
// program. LoadDefault returns the error instead.
func Default() *Pack {
	p, err := loadDefault()
	if err != nil {
		panic(err)
	}
	return p
}

// LoadDefault is Default returning an error rather than panicking.
func LoadDefault() (*Pack, error) { return loadDefault() }

var loadDefault = sync.OnceValues(func() (*Pack, error) {
	sub, err := fs.Sub(embedded, "pack")
	if err != nil {
		return nil, fmt.Errorf("avatar: embedded pack: %w", err)
	}
	return Load(sub)
})

// LoadDir loads the pack in folder dir (an operator's pack). Files are read
// through an os.Root, so no link inside the folder can reach outside it.
func LoadDir(dir string) (*Pack, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("avatar: open pack folder: %w", err)
	}
	defer root.Close()
	return Load(root.FS())
}

// Load reads pack.json and its files from the root of fsys and checks
// them: every file is listed once, exists, is a PNG of Size×Size pixels
// within the size limits, and has known tags, and together the files hold
// every layer the avatar needs (see NewRig). Errors wrap ErrBadPack (or the
// fs error when a file cannot be read) and name the file.
func Load(fsys fs.FS) (*Pack, error) {
	b, err := readCapped(fsys, IndexName, MaxIndexSize)
	if err != nil {
		return nil, err
	}
	ix, err := parseIndex(b)
	if err != nil {
		return nil, err
	}
	p := &Pack{Name: ix.Name, Size: ix.Size, byHash: map[string]int{}}
	var total int64
	for _, f := range ix.Files {
		data, err := readCapped(fsys, f.Name, MaxFileSize)
		if err != nil {
			return nil, err
		}
		if total += int64(len(data)); total > MaxPackSize {
			return nil, fmt.Errorf("%w: the files exceed %d bytes together", ErrBadPack, MaxPackSize)
		}
		if err := checkImage(data, ix.Size); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadPack, f.Name, err)
		}
		sum := sha256.Sum256(data)
		file := File{Name: f.Name, MediaType: f.MediaType, Tags: slices.Clone(f.Tags), Size: int64(len(data)), Hash: hex.EncodeToString(sum[:]), Data: data}
		if _, dup := p.byHash[file.Hash]; !dup {
			p.byHash[file.Hash] = len(p.Files)
		}
		p.Files = append(p.Files, file)
	}
	if _, err := NewRig(p.Entries()); err != nil {
		return nil, err
	}
	return p, nil
}

// parseIndex decodes and checks pack.json: its version, name and size, and
// for every file a plain unique name, the PNG media type and known tags.
func parseIndex(b []byte) (Index, error) {
	var ix Index
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ix); err != nil {
		return ix, fmt.Errorf("%w: %s: %v", ErrBadPack, IndexName, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ix, fmt.Errorf("%w: %s: data after the document", ErrBadPack, IndexName)
	}
	switch {
	case ix.Version != IndexVersion:
		return ix, fmt.Errorf("%w: %s: version %d, want %d", ErrBadPack, IndexName, ix.Version, IndexVersion)
	case ix.Name == "" || len(ix.Name) > maxNameLen || strings.ContainsFunc(ix.Name, isControl):
		return ix, fmt.Errorf("%w: %s: name must be 1 to %d printable bytes", ErrBadPack, IndexName, maxNameLen)
	case ix.Size < MinImageSize || ix.Size > MaxImageSize:
		return ix, fmt.Errorf("%w: %s: size %d, want %d to %d", ErrBadPack, IndexName, ix.Size, MinImageSize, MaxImageSize)
	case len(ix.Files) == 0 || len(ix.Files) > MaxFiles:
		return ix, fmt.Errorf("%w: %s: %d files, want 1 to %d", ErrBadPack, IndexName, len(ix.Files), MaxFiles)
	}
	names := map[string]bool{}
	for _, f := range ix.Files {
		if err := checkName(f.Name); err != nil {
			return ix, fmt.Errorf("%w: file %q: %v", ErrBadPack, f.Name, err)
		}
		if names[f.Name] {
			return ix, fmt.Errorf("%w: %s: listed twice", ErrBadPack, f.Name)
		}
		names[f.Name] = true
		if f.MediaType != MediaTypePNG {
			return ix, fmt.Errorf("%w: %s: media type %q, want %q", ErrBadPack, f.Name, f.MediaType, MediaTypePNG)
		}
		if _, err := parseTags(f.Tags); err != nil {
			return ix, fmt.Errorf("%w: %s: %v", ErrBadPack, f.Name, err)
		}
	}
	return ix, nil
}

// checkName accepts a plain file name: no path separators, not "." or
// "..", not hidden, no control characters, not pack.json itself.
func checkName(name string) error {
	switch {
	case name == "" || len(name) > maxNameLen:
		return fmt.Errorf("name must be 1 to %d bytes", maxNameLen)
	case strings.ContainsAny(name, `/\:`) || strings.ContainsFunc(name, isControl):
		return errors.New("name must be a plain file name (no path separators)")
	case strings.HasPrefix(name, ".") || !fs.ValidPath(name):
		return errors.New("name must not be hidden, '.' or '..'")
	case name == IndexName:
		return fmt.Errorf("the index %s is not a layer", IndexName)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// readCapped reads file name of fsys, refusing more than limit bytes.
func readCapped(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s: missing", ErrBadPack, name)
		}
		return nil, fmt.Errorf("avatar: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s: not a regular file", ErrBadPack, name)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("avatar: read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrBadPack, name, limit)
	}
	return b, nil
}

// checkImage checks that data is a PNG of size×size pixels that decodes.
// The header is read first so a huge image is refused before decoding.
func checkImage(data []byte, size int) error {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a PNG: %v", err)
	}
	if cfg.Width != size || cfg.Height != size {
		return fmt.Errorf("%d×%d pixels, want %d×%d", cfg.Width, cfg.Height, size, size)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("PNG does not decode: %v", err)
	}
	return nil
}

// File returns the file whose bytes hash to hash.
func (p *Pack) File(hash string) (File, bool) {
	if i, ok := p.byHash[hash]; ok {
		return p.Files[i], true
	}
	for _, f := range p.Files { // a Pack built by hand has no index
		if f.Hash == hash {
			return f, true
		}
	}
	return File{}, false
}

// Entries returns the pack's layers for NewRig.
func (p *Pack) Entries() []Entry {
	out := make([]Entry, len(p.Files))
	for i, f := range p.Files {
		out[i] = Entry{Hash: f.Hash, Name: f.Name, Tags: slices.Clone(f.Tags)}
	}
	return out
}

// Decode decodes the image of f.
func Decode(f File) (image.Image, error) {
	if f.MediaType != MediaTypePNG {
		return nil, fmt.Errorf("%w: %s: media type %q, want %q", ErrBadPack, f.Name, f.MediaType, MediaTypePNG)
	}
	img, err := png.Decode(bytes.NewReader(f.Data))
	if err != nil {
		return nil, fmt.Errorf("avatar: decode %s: %w", f.Name, err)
	}
	return img, nil
}
