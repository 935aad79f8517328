package avatar

import "errors"

// ErrBadPack is returned, wrapped with the reason and the file concerned,
// when a pack (pack.json and its files) or a rig's entries are malformed or
// miss a layer the avatar needs.
var ErrBadPack = errors.New("avatar: bad pack")
