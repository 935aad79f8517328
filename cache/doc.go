// Package cache is the content-addressed asset store of the avatar packs:
// every asset is a file named by the lowercase hex SHA-256 of its bytes,
// written atomically (temp file, fsync, rename, fsync of the directory),
// verified on every read, evicted least-recently-used when the store is over
// its byte budget (the assets of the active pack are pinned and never
// evicted) and kept up to date from an agent by a differential Sync that
// fetches only the hashes the store lacks.
//
// The store is confined to its directory with os.Root, and the only file
// names it ever builds come from validated digests, so a hostile manifest or
// a symlink planted in the directory cannot make it touch anything outside.
//
// Layout of the directory (flat):
//
//	<64 hex digits>   one asset
//	index.json        size, mtime and last use per asset, and the pinned set
//	tmp-*             a write in progress (or left by a crash: removed on Open and by GC)
package cache
