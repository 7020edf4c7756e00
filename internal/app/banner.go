package app

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// devBanner is what `webhookd dev` prints once it serves: where a newcomer
// goes next.
type devBanner struct {
	HTTPAddr, TemporalAddr, UIAddr string
	Namespace, TaskQueue, Database string
}

func printDevBanner(w io.Writer, b devBanner) {
	base := "http://" + browsable(b.HTTPAddr)
	fmt.Fprintf(w, `webhookd dev is up:
  console        %s/console/
  API            %s/api/v1
  Temporal UI    http://%s
  Temporal       %s (namespace %s, task queue %s)
  database       %s
`, base, base, browsable(b.UIAddr), b.TemporalAddr, b.Namespace, b.TaskQueue, b.Database)
}

// browsable turns a listen address into one a browser on this machine can
// open: a wildcard host (0.0.0.0, [::]) becomes 127.0.0.1.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// databaseName says which database dev uses without printing a URL, which
// may hold a password.
func databaseName(databaseURL string) string {
	if file, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		return "sqlite, " + file
	}
	return "postgres (DATABASE_URL)"
}
