// Command gen draws Parley's default avatar pack (package art) and writes it
// as PNG files and pack.json:
//
//	go run ./assets/avatar/gen -o assets/avatar/pack
//
// With -sheet it also renders a contact sheet for people to look at: every
// expression with its blink and a few mouths.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"os"

	"github.com/google/renameio/v2"

	"github.com/parley-app/parley/assets/avatar/art"
)

func main() {
	out := flag.String("o", "", "directory to write the pack into (its stale PNG files are removed)")
	sheet := flag.String("sheet", "", "also write a contact sheet PNG to this path")
	flag.Parse()
	if *out == "" && *sheet == "" {
		fmt.Fprintln(os.Stderr, "gen: nothing to do: give -o DIR and/or -sheet FILE")
		os.Exit(2)
	}
	if err := run(*out, *sheet); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out, sheet string) error {
	if out != "" {
		if err := art.WriteDir(out); err != nil {
			return err
		}
	}
	if sheet != "" {
		var b bytes.Buffer
		if err := png.Encode(&b, contactSheet()); err != nil {
			return fmt.Errorf("encode the contact sheet: %w", err)
		}
		if err := renameio.WriteFile(sheet, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
