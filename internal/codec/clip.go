package codec

import (
	"fmt"
	"unicode/utf8"
)

// maxQuoted is the most bytes of a value taken from a received message that
// an error (and so a log line) quotes.
const maxQuoted = 64

// Clip shortens s, text taken from a received message, for an error message,
// so a hostile producer cannot put kilobytes of its own text into our logs.
func Clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}
