package devserver

import (
	"log/slog"
	"net"
	"strconv"
	"testing"

	"go.temporal.io/server/common/authorization"
)

// TestTakenInternalPortIsAnError: a port the server was given for one of
// its services, taken by someone else between the pick and the bind (CI: an
// outgoing connection), makes building or starting the server fail with an
// error naming the failure; the server's logger panics there (it would end
// the program), and that panic must not escape to the caller.
func TestTakenInternalPortIsAnError(t *testing.T) {
	opts := Options{Namespace: "default", Logger: slog.New(slog.DiscardHandler), ServerLogLevel: slog.LevelError + 1}
	sqlConf, err := prepareSQLite(opts)
	if err != nil {
		t.Fatal(err)
	}
	ports := &portPicker{}
	frontend, err := ports.pick("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := serverConfig("127.0.0.1", frontend, sqlConf, ports)
	if err != nil {
		t.Fatal(err)
	}
	ports.release()
	taken, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(conf.Services["history"].RPC.GRPCPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	logger := slogAdapter{l: opts.Logger, minLevel: opts.ServerLogLevel}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		t.Fatal(err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := newTemporal(conf, logger, authorizer, claimMapper, false)
	if err == nil {
		err = startTemporal(ts)
		defer ts.Stop()
	}
	if err == nil {
		t.Fatal("the server started with its history port taken")
	}
	t.Logf("error: %v", err)
}
