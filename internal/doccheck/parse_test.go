package doccheck

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	doc := strings.Join([]string{
		"# Title",                        // 1
		"",                               // 2
		"```sh",                          // 3
		"echo one",                       // 4
		"```",                            // 5
		"```json",                        // 6
		`{"not": "run"}`,                 // 7
		"```",                            // 8
		"<!-- not run: needs Docker -->", // 9
		"```bash",                        // 10
		"docker compose up",              // 11
		"```",                            // 12
		`<!-- background: ready when http://localhost:8080/readyz answers; prints "verified" -->`, // 13
		"```sh",                           // 14
		"webhookd dev",                    // 15
		"```",                             // 16
		"<!-- run in a new directory -->", // 17
		"```shell",                        // 18
		"ls",                              // 19
		"```",                             // 20
		"````",                            // 21: a longer fence holds a shorter one
		"```sh",                           // 22
		"````",                            // 23
	}, "\n")
	blocks, err := Parse("README.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 4 {
		t.Fatalf("%d blocks, want 4: %+v", len(blocks), blocks)
	}
	if b := blocks[0]; b.Line != 3 || b.Code != "echo one\n" || b.Skip != "" || b.Background != nil || b.NewDir {
		t.Errorf("plain block: %+v", b)
	}
	if b := blocks[1]; b.Line != 10 || b.Skip != "needs Docker" {
		t.Errorf("skipped block: %+v", b)
	}
	if b := blocks[2]; b.Background == nil || b.Background.ReadyURL != "http://localhost:8080/readyz" || b.Background.Prints != "verified" {
		t.Errorf("background block: %+v", b)
	}
	if b := blocks[3]; !b.NewDir || b.Code != "ls\n" {
		t.Errorf("new-directory block: %+v", b)
	}
}

// TestParseRefusesUnknownDirectives: a misspelt directive must not turn
// into a block that runs differently than the author meant, or not at all.
func TestParseRefusesUnknownDirectives(t *testing.T) {
	for _, d := range []string{
		"<!-- not run -->",
		"<!-- background: ready at http://x -->",
		"<!-- run in the background -->",
	} {
		_, err := Parse("docs/x.md", []byte("text\n"+d+"\n```sh\necho\n```\n"))
		if err == nil || !strings.Contains(err.Error(), "docs/x.md:2") {
			t.Errorf("%s: err = %v, want one naming docs/x.md:2", d, err)
		}
	}
	if _, err := Parse("x.md", []byte("<!-- a comment -->\n```sh\necho\n```\n")); err != nil {
		t.Errorf("an ordinary comment: %v", err)
	}
	if _, err := Parse("x.md", []byte("```sh\necho\n")); err == nil {
		t.Error("an unclosed block parsed")
	}
}
