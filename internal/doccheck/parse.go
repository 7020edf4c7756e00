// Package doccheck runs the shell commands of Markdown documents, so that
// documentation cannot drift from what the commands do: every fenced sh
// block is run, in order, and the first command that fails is reported by
// file and line.
//
// An HTML comment on the line just before a block's fence says how to run
// it; a block without one runs in the foreground, in the repository root,
// and must succeed:
//
//	<!-- not run: <why> -->          skipped, with the reason (never silently)
//	<!-- background: ready when <URL> answers -->
//	                                 started and left running (a server); the
//	                                 next block runs once <URL> answers 2xx
//	<!-- background: ready when <URL> answers; prints "<text>" -->
//	                                 and by the end of the file its output
//	                                 must contain <text>
//	<!-- run in a new directory -->  runs in an empty temporary directory
//
// Variables a block sets are seen by the blocks after it in the same file,
// as in one terminal session.
package doccheck

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Block is one fenced sh block of a document.
type Block struct {
	File string
	// Line is the line of the opening fence; the code starts on the next.
	Line int
	Code string
	// Skip is why the block is not run; empty when it is.
	Skip string
	// Background is set for a block that starts a server.
	Background *Background
	// NewDir runs the block in an empty temporary directory.
	NewDir bool
}

// Background says when a server a block starts is ready, and what it must
// print before the file's last block has run.
type Background struct {
	ReadyURL string
	Prints   string
}

// shells are the fence languages that are run.
var shells = map[string]bool{"sh": true, "bash": true, "shell": true}

var (
	fence      = regexp.MustCompile("^(```+|~~~+)\\s*([A-Za-z0-9_+-]*)")
	directive  = regexp.MustCompile(`^<!--\s*(.*?)\s*-->$`)
	notRun     = regexp.MustCompile(`^not run:\s*(\S.*)$`)
	background = regexp.MustCompile(`^background: ready when (\S+) answers(?:; prints "([^"]+)")?$`)
)

// Parse returns the sh blocks of the Markdown document src (named file in
// errors and blocks). A comment before a block that looks like a
// directive but is not one is an error, so a typo cannot skip a block.
func Parse(file string, src []byte) ([]Block, error) {
	var (
		blocks  []Block
		prev    string // the line before the current one
		open    string // the fence that opened the current block, if any
		current *Block
		code    strings.Builder
	)
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if open != "" {
			if strings.HasPrefix(strings.TrimSpace(line), open) && strings.Trim(strings.TrimSpace(line), open[:1]) == "" {
				if current != nil {
					current.Code = code.String()
					blocks = append(blocks, *current)
				}
				open, current = "", nil
			} else if current != nil {
				code.WriteString(line)
				code.WriteByte('\n')
			}
			prev = line
			continue
		}
		m := fence.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			prev = line
			continue
		}
		open = m[1]
		if shells[m[2]] {
			b, err := withDirective(Block{File: file, Line: n}, strings.TrimSpace(prev))
			if err != nil {
				return nil, err
			}
			current = &b
			code.Reset()
		}
		prev = line
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if open != "" {
		return nil, fmt.Errorf("%s: a code block is not closed", file)
	}
	return blocks, nil
}

// withDirective applies the comment before a block's fence, if it is one.
func withDirective(b Block, comment string) (Block, error) {
	m := directive.FindStringSubmatch(comment)
	if m == nil {
		return b, nil
	}
	d := m[1]
	switch {
	case d == "run in a new directory":
		b.NewDir = true
	case notRun.MatchString(d):
		b.Skip = notRun.FindStringSubmatch(d)[1]
	case background.MatchString(d):
		bm := background.FindStringSubmatch(d)
		b.Background = &Background{ReadyURL: bm[1], Prints: bm[2]}
	case strings.HasPrefix(d, "not run") || strings.HasPrefix(d, "background") || strings.HasPrefix(d, "run "):
		return b, fmt.Errorf("%s:%d: %q is not a directive doccheck knows (see its package documentation)", b.File, b.Line-1, comment)
	}
	return b, nil
}
