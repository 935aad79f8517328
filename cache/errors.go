package cache

import "errors"

// Errors. They are wrapped with the digest, asset or file they are about;
// test for them with errors.Is.
var (
	// ErrBadDigest: a string is not a SHA-256 digest of 64 hex digits.
	ErrBadDigest = errors.New("cache: not a SHA-256 hex digest")
	// ErrNotFound: the store does not hold that digest.
	ErrNotFound = errors.New("cache: not in the store")
	// ErrTooLarge: more bytes than the caller allowed (Put's maxSize, the
	// manifest's size of an asset, MaxAssetSize).
	ErrTooLarge = errors.New("cache: larger than allowed")
	// ErrMismatch: bytes offered to Put do not hash to the expected digest;
	// nothing was stored.
	ErrMismatch = errors.New("cache: content does not match its digest")
	// ErrCorrupt: a stored file no longer hashes to its name. The file has
	// been removed; fetch the asset again.
	ErrCorrupt = errors.New("cache: stored asset is corrupt")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("cache: store is closed")
	// ErrBadManifest: a manifest that ParseManifest refuses; the wrapping
	// error says why.
	ErrBadManifest = errors.New("cache: bad manifest")
	// ErrMediaType: the agent served an asset with a Content-Type other than
	// the manifest's media_type.
	ErrMediaType = errors.New("cache: media type differs from the manifest")
	// ErrBadURL: SyncOptions.BaseURL is not an absolute http or https URL.
	ErrBadURL = errors.New("cache: bad agent URL")
)
