package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackage runs the Makefile's packaging (`make tarball`, what `make
// package` does after `make build`) on the binary the GUI tests build, checks
// what the tarball holds, then installs it for a user whose HOME is a temporary
// directory (`make install-tarball`, what `make install` does after packaging)
// with and without XDG_DATA_HOME, runs the installed app the way its menu entry
// does, and uninstalls it.
func TestPackage(t *testing.T) {
	for _, tool := range []string{"make", "tar", "xz", "desktop-file-validate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run `make deps` (Debian packages make, tar, xz-utils, desktop-file-utils)", tool)
		}
	}
	bin, err := buildApp()
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	// xz -1: this checks the contents, not the compression (-6 takes 4× longer).
	makeTarget(t, []string{"XZ_OPT=-T0 -1"}, "tarball", "EXE="+bin, "DIST="+dist)
	tarball := filepath.Join(dist, "Parley.tar.xz")
	if fi, err := os.Stat(tarball); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("%s: %.1f MB", tarball, float64(fi.Size())/1e6)
	}

	t.Run("contents", func(t *testing.T) {
		root := t.TempDir()
		if out, err := exec.Command("tar", "-xJf", tarball, "-C", root).CombinedOutput(); err != nil {
			t.Fatalf("tar: %v\n%s", err, out)
		}
		usr := filepath.Join(root, "parley", "usr", "local")
		if _, err := os.Stat(usr); err != nil {
			usr = filepath.Join(root, "parley", "usr") // packed where /usr/local is missing
		}
		// fyne package must pack our binary, not build one of its own.
		if fileSum(t, filepath.Join(usr, "bin", "parley")) != fileSum(t, bin) {
			t.Fatal("the packed bin/parley is not the binary that was given to fyne package")
		}
		if _, err := os.Stat(filepath.Join(root, "parley", "Makefile")); err != nil {
			t.Fatalf("no Makefile (user-install) in the tarball: %v", err)
		}
		entry := checkDesktopEntry(t, filepath.Join(usr, "share", "applications", "Parley.desktop"))
		if entry["Exec"] != "parley" {
			t.Fatalf("Exec=%q, want parley", entry["Exec"])
		}
		icon := filepath.Join(usr, "share", "pixmaps", entry["Icon"]+".png")
		if size := checkIcon(t, icon); size < 256 {
			t.Fatalf("the icon is %d px, want at least 256", size)
		}
		if fileSum(t, icon) != fileSum(t, filepath.Join("assets", "icon.png")) {
			t.Fatal("the packed icon is not assets/icon.png")
		}
	})

	for _, xdg := range []bool{true, false} {
		name := "install/XDG_DATA_HOME"
		if !xdg {
			name = "install/default"
		}
		t.Run(name, func(t *testing.T) {
			home := t.TempDir()
			data := filepath.Join(home, ".local", "share")
			env := []string{"HOME=" + home, "XDG_DATA_HOME="}
			if xdg {
				data = filepath.Join(t.TempDir(), "data")
				env[1] = "XDG_DATA_HOME=" + data
			}
			makeTarget(t, env, "install-tarball", "DIST="+dist)

			desktop := filepath.Join(data, "applications", "Parley.desktop")
			entry := checkDesktopEntry(t, desktop)
			exe := entry["Exec"]
			if want := filepath.Join(home, ".local", "bin", "parley"); exe != want {
				t.Fatalf("installed Exec=%q, want %q", exe, want)
			}
			if fileSum(t, exe) != fileSum(t, bin) {
				t.Fatal("the installed binary is not the packaged one")
			}
			// The hicolor size directory must match the icon's size.
			if size := checkIcon(t, filepath.Join(data, "icons", "hicolor", "256x256", "apps", entry["Icon"]+".png")); size != 256 {
				t.Fatalf("the icon is %d px but installed as 256x256", size)
			}

			// Start it as the menu would, asking for its usage.
			cmd := exec.Command(exe, "-h")
			cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "LANG=en_US.UTF-8"}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 2) {
				t.Fatalf("%s -h: %v\n%s", exe, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "Usage: parley") {
				t.Fatalf("%s -h printed no usage:\n%s", exe, stderr.String())
			}

			makeTarget(t, env, "uninstall")
			for _, p := range []string{exe, desktop, filepath.Join(data, "icons", "hicolor", "256x256", "apps", "Parley.png")} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("make uninstall left %s (%v)", p, err)
				}
			}
		})
	}
}

// makeTarget runs `make target vars…` in the repository with env added to
// this process's environment (without the make variables of a `make test`
// around it, which would leak its jobserver and command-line variables).
func makeTarget(t *testing.T, env []string, target string, vars ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory", target}, vars...)...)
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, out)
	}
	t.Logf("make %s:\n%s", target, out)
}

// checkDesktopEntry validates the desktop entry with desktop-file-validate
// (errors and warnings fail the test; hints do not), checks the keys Parley
// sets and returns the [Desktop Entry] group.
func checkDesktopEntry(t *testing.T, path string) map[string]string {
	t.Helper()
	out, err := exec.Command("desktop-file-validate", path).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("error:")) || bytes.Contains(out, []byte("warning:")) {
		t.Fatalf("desktop-file-validate %s: %v\n%s", path, err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entry := map[string]string{}
	group := ""
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			group = line
		case group == "[Desktop Entry]":
			k, v, _ := strings.Cut(line, "=")
			entry[k] = v
		}
	}
	for k, want := range map[string]string{"Type": "Application", "Name": "Parley", "Icon": "Parley"} {
		if entry[k] != want {
			t.Errorf("%s: %s=%q, want %q", path, k, entry[k], want)
		}
	}
	if !strings.Contains(entry["Categories"], "AudioVideo;") || entry["Comment"] == "" || entry["Exec"] == "" {
		t.Errorf("%s: Categories=%q Comment=%q Exec=%q", path, entry["Categories"], entry["Comment"], entry["Exec"])
	}
	if t.Failed() {
		t.FailNow()
	}
	return entry
}

// checkIcon decodes the PNG, checks that it is square and returns its width.
func checkIcon(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("icon: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("icon %s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != b.Dy() {
		t.Fatalf("icon %s is %d×%d, not square", path, b.Dx(), b.Dy())
	}
	return b.Dx()
}

func fileSum(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
