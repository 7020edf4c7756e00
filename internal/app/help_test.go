package app

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/config"
)

// TestEveryCommandHasHelp: `webhookd <command> --help`, `-h` and `webhookd
// help <command>` print the same help and do nothing else (keygen prints no
// key, probe fetches nothing, migrate does not migrate).
func TestEveryCommandHasHelp(t *testing.T) {
	none := func(string) string { return "" }
	key := regexp.MustCompile(`k\d{8}:`)
	for _, c := range commands {
		var outs []string
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			var out bytes.Buffer
			if err := Run(context.Background(), args, none, &out, io.Discard); err != nil {
				t.Errorf("webhookd %s: %v", strings.Join(args, " "), err)
			}
			outs = append(outs, out.String())
		}
		if outs[0] != outs[1] || outs[0] != outs[2] {
			t.Errorf("%s: --help, -h and help %s differ:\n%s\n---\n%s\n---\n%s", c.name, c.name, outs[0], outs[1], outs[2])
		}
		if !strings.HasPrefix(outs[0], "Usage: webhookd "+c.name) || !strings.Contains(outs[0], c.about) {
			t.Errorf("%s --help:\n%s", c.name, outs[0])
		}
		if key.MatchString(outs[0]) {
			t.Errorf("%s --help printed a key:\n%s", c.name, outs[0])
		}
	}
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"migrate", "--help"}, none, &out, io.Discard); err != nil || !strings.Contains(out.String(), "--reencrypt") {
		t.Errorf("migrate --help must list --reencrypt: %v\n%s", err, out.String())
	}
}

// TestHelpListsEveryVariable: every variable the configuration reads is
// listed by the help of some command, and each command lists only real ones.
func TestHelpListsEveryVariable(t *testing.T) {
	read := map[string]bool{}
	for _, c := range commands {
		if c.mode != "" {
			_, _ = config.Load(c.mode, func(k string) string { read[k] = true; return "" })
		}
	}
	listed := map[string]bool{}
	line := regexp.MustCompile(`(?m)^  ([A-Z][A-Z0-9_]+) `)
	for _, c := range commands {
		var out bytes.Buffer
		if err := Run(context.Background(), []string{c.name, "--help"}, func(string) string { return "" }, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, m := range line.FindAllStringSubmatch(out.String(), -1) {
			if !read[m[1]] {
				t.Errorf("%s --help lists %s, which the configuration does not read", c.name, m[1])
			}
			listed[m[1]] = true
		}
	}
	for name := range read {
		if !listed[name] {
			t.Errorf("%s is read by the configuration but no command's --help lists it", name)
		}
	}
}

// TestCommandLineMistakes: unknown flags and stray arguments are refused
// with a message that says what is wrong and where help is.
func TestCommandLineMistakes(t *testing.T) {
	none := func(string) string { return "" }
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"api", "--bogus"}, []string{"-bogus", "webhookd api --help"}},
		{[]string{"migrate", "--reencrypt=maybe"}, []string{"reencrypt", "webhookd migrate --help"}},
		{[]string{"worker", "now"}, []string{"no arguments", "webhookd worker --help"}},
		{[]string{"probe", "a", "b"}, []string{"usage: webhookd probe <url>"}},
		{[]string{"dev", "--data-dir", "x"}, []string{"-data-dir", "webhookd dev --help"}},
		{[]string{"probe", "example.com"}, []string{"http://"}},
		{[]string{"help", "nope"}, []string{`unknown command "nope"`}},
	} {
		err := Run(context.Background(), c.args, none, io.Discard, io.Discard)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("webhookd %s: error %v, want one containing %q", strings.Join(c.args, " "), err, w)
			}
		}
	}
	inv, err := mustCommand(t, "migrate").parse([]string{"--reencrypt"})
	if err != nil || !inv.reencrypt {
		t.Errorf("migrate --reencrypt: %+v %v", inv, err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"keygen", "--tenant-token-key"}, none, &out, io.Discard); err != nil || len(strings.TrimSpace(out.String())) < config.MinTenantTokenKey {
		t.Errorf("keygen --tenant-token-key: %v %q", err, out.String())
	}
}

func mustCommand(t *testing.T, name string) command {
	t.Helper()
	c, ok := commandNamed(name)
	if !ok {
		t.Fatalf("no command %s", name)
	}
	return c
}
