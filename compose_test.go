package snssqs_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docker-compose.yml cannot be run here (no Docker engine); this checks
// what it must keep: two services with pinned images and healthchecks,
// LocalStack's auth token passed through, moto under a profile.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	require.NoError(t, err)
	s := string(b)
	services := regexp.MustCompile(`(?m)^  (\w+):\n((?:    .*\n|\n)*)`).FindAllStringSubmatch(s, -1)
	got := map[string]string{}
	for _, m := range services {
		got[m[1]] = m[2]
	}
	require.Contains(t, got, "localstack")
	require.Contains(t, got, "moto")
	pinned := regexp.MustCompile(`(?m)^    image: \S+:\d+\.\d+\.\d+$`)
	for name, body := range got {
		assert.Regexp(t, pinned, body, "%s: a pinned image, never a floating tag", name)
		assert.Contains(t, body, "    healthcheck:\n", "%s: a healthcheck", name)
		assert.Contains(t, body, `"127.0.0.1:`, "%s: ports bound to loopback", name)
	}
	assert.Contains(t, got["localstack"], "LOCALSTACK_AUTH_TOKEN: ${LOCALSTACK_AUTH_TOKEN:-}", "the token is passed through")
	assert.Contains(t, got["moto"], `profiles: ["moto"]`)
	assert.True(t, strings.HasPrefix(strings.TrimSpace(regexp.MustCompile(`(?m)^    image: (\S+)`).FindStringSubmatch(got["moto"])[1]), "motoserver/moto:"))
}
