package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Theme choices of the Appearance settings.
const (
	ThemeSystem = "Follow the system"
	ThemeLight  = "Light"
	ThemeDark   = "Dark"
)

const prefThemeVariant = "appearance.theme"

// ThemeName is the saved theme choice (ThemeSystem when none).
func ThemeName(p fyne.Preferences) string {
	switch v := p.String(prefThemeVariant); v {
	case ThemeLight, ThemeDark:
		return v
	}
	return ThemeSystem
}

// SetTheme applies a theme choice to a and saves it.
func SetTheme(a fyne.App, name string) {
	a.Preferences().SetString(prefThemeVariant, name)
	ApplyTheme(a)
}

// ApplyTheme applies the saved theme choice: Fyne's default theme in the
// light or dark variant, or in the one the system asks for.
func ApplyTheme(a fyne.App) {
	switch ThemeName(a.Preferences()) {
	case ThemeLight:
		a.Settings().SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantLight})
	case ThemeDark:
		a.Settings().SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantDark})
	default:
		a.Settings().SetTheme(theme.DefaultTheme())
	}
}

// variantTheme is a theme held to one variant, whatever the system's.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}
