package rig

import (
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// PprofEnv, in the environment of a child (StartChild), makes it serve
// net/http/pprof on that address beside webhookd, so that a benchmark can
// take heap profiles of a running worker. webhookd itself serves no pprof.
const PprofEnv = "WEBHOOKD_TEST_PPROF_ADDR"

// servePprof serves pprof on $PprofEnv, if set, until the process ends.
func servePprof() {
	addr := os.Getenv(PprofEnv)
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
}
