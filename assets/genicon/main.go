// Command genicon writes Parley's app icon (assets.Icon) as a PNG file.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/renameio/v2"

	"github.com/parley-app/parley/assets"
)

func main() {
	out := flag.String("o", "icon.png", "where to write the PNG")
	flag.Parse()
	if err := renameio.WriteFile(*out, assets.IconPNG(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genicon:", err)
		os.Exit(1)
	}
}
