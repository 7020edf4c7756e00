// Package devserver runs a real Temporal server and its Web UI inside the
// webhookd process, so that `webhookd dev` needs nothing installed. State is a
// SQLite file, so workflows and timers survive a restart; tests use the
// in-memory mode.
package devserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const clusterName = "active"

// Options configures the embedded server.
type Options struct {
	// FrontendAddr is host:port of the gRPC frontend; port 0 picks a free one.
	FrontendAddr string
	// UIAddr is host:port of the Web UI; empty runs no UI.
	UIAddr string
	// DatabaseFile keeps state in a SQLite file; empty keeps it in memory.
	DatabaseFile string
	Namespace    string
	// SearchAttributes are registered when the namespace is first created.
	SearchAttributes map[string]enumspb.IndexedValueType
	Logger           *slog.Logger
	// ServerLogLevel drops the server's own records below this level.
	ServerLogLevel slog.Level
	// NoFairness turns task-queue fairness off (benchmarks compare).
	NoFairness bool
}

// Server is a running Temporal server (and optional UI).
type Server struct {
	temporal     temporal.Server
	ui           *uiserver.Server
	frontendAddr string
	uiAddr       string
}

// FrontendAddr is where SDK clients connect.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIAddr is where the Web UI listens ("" without UI).
func (s *Server) UIAddr() string { return s.uiAddr }

// Start builds and starts the server; it returns once the frontend accepts
// connections or ctx ends.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Namespace == "" || opts.Logger == nil {
		return nil, errors.New("devserver: namespace and logger are required")
	}
	host, port, err := splitHostPort(opts.FrontendAddr)
	if err != nil {
		return nil, fmt.Errorf("devserver: frontend address: %w", err)
	}
	ports := &portPicker{}
	defer ports.release()
	if port == 0 {
		if port, err = ports.pick(host); err != nil {
			return nil, err
		}
	} else if err := checkFree(net.JoinHostPort(host, strconv.Itoa(port))); err != nil {
		// A clear message now instead of a failure deep in the server.
		return nil, err
	}
	// The UI server would exit the whole process from its own goroutine
	// if its port were taken.
	if opts.UIAddr != "" {
		if err := checkFree(opts.UIAddr); err != nil {
			return nil, err
		}
	}

	sqlConf, err := prepareSQLite(opts)
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(host, port, sqlConf, ports)
	if err != nil {
		return nil, err
	}
	ports.release()
	logger := slogAdapter{l: opts.Logger.With("component", "temporal"), minLevel: opts.ServerLogLevel}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devserver: claim mapper: %w", err)
	}
	ts, err := newTemporal(conf, logger, authorizer, claimMapper, opts.NoFairness)
	if err != nil {
		return nil, err
	}
	if err := startTemporal(ts); err != nil {
		return nil, err
	}
	s := &Server{temporal: ts, frontendAddr: net.JoinHostPort(host, strconv.Itoa(port))}

	if opts.UIAddr != "" {
		uiHost, uiPort, err := splitHostPort(opts.UIAddr)
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("devserver: UI address: %w", err)
		}
		s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiHost,
			Port:                uiPort,
			TemporalGRPCAddress: s.frontendAddr,
			EnableUI:            true,
			DefaultNamespace:    opts.Namespace,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
		}))
		s.uiAddr = opts.UIAddr
		go func() {
			if err := s.ui.Start(); err != nil {
				opts.Logger.Error("temporal web UI stopped", "error", err)
			}
		}()
	}
	if err := waitListening(ctx, s.frontendAddr); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop stops the UI and the server.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.temporal.Stop()
}

func prepareSQLite(opts Options) (*config.SQL, error) {
	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if opts.DatabaseFile == "" {
		// In memory, the SQLite plugin creates the schema itself.
		sqlConf.ConnectAttributes["mode"] = "memory"
		sqlConf.ConnectAttributes["cache"] = "shared"
		sqlConf.DatabaseName = "webhookd-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	} else {
		sqlConf.ConnectAttributes["mode"] = "rwc"
		// Every attribute that is not a URI parameter becomes a PRAGMA of
		// that exact name, and SQLite ignores pragmas it does not know: the
		// names must be SQLite's own (an earlier "_journal_mode" left the
		// file in rollback-journal mode, one fsync per commit). WAL with
		// synchronous=normal survives a process crash; it may lose the last
		// commits on a power loss, acceptable for a development server.
		sqlConf.ConnectAttributes["journal_mode"] = "wal"
		sqlConf.ConnectAttributes["synchronous"] = "normal"
		// The server's pool has one connection; the timeout covers the
		// others: forgetMembership's at start and WAL recovery on open.
		sqlConf.ConnectAttributes["busy_timeout"] = "10000"
		sqlConf.DatabaseName = opts.DatabaseFile
		if err := os.MkdirAll(filepath.Dir(opts.DatabaseFile), 0o755); err != nil {
			return nil, fmt.Errorf("devserver: data dir: %w", err)
		}
		if _, err := os.Stat(opts.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				return nil, fmt.Errorf("devserver: schema: %w", err)
			}
		} else if err := forgetMembership(opts.DatabaseFile); err != nil {
			return nil, err
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return nil, fmt.Errorf("devserver: namespace: %w", err)
	}
	return sqlConf, nil
}

func serverConfig(host string, frontendPort int, sqlConf *config.SQL, ports *portPicker) (*config.Config, error) {
	conf := &config.Config{}
	conf.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"}
	conf.Persistence = config.Persistence{
		DefaultStore:     "sqlite",
		VisibilityStore:  "sqlite",
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{"sqlite": {SQL: sqlConf}},
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             net.JoinHostPort("127.0.0.1", strconv.Itoa(frontendPort)),
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		membership, err := ports.pick("127.0.0.1")
		if err != nil {
			return nil, err
		}
		svc.RPC.MembershipPort = membership
		if name == "frontend" {
			svc.RPC.GRPCPort = frontendPort
			svc.RPC.BindOnIP = host
		} else {
			grpcPort, err := ports.pick("127.0.0.1")
			if err != nil {
				return nil, err
			}
			svc.RPC.GRPCPort = grpcPort
			svc.RPC.BindOnLocalHost = true
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(host, strconv.Itoa(frontendPort))
	return conf, nil
}

// forgetMembership removes the cluster membership rows a previous run left
// behind. This server is the only member of its cluster, but it picks new
// internal ports on every start; left in place, the old rows make the new
// matching service wait for its dead predecessor to time out (about a
// minute), and no workflow task is handed out meanwhile.
func forgetMembership(file string) error {
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		return fmt.Errorf("devserver: open %s: %w", file, err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("devserver: reset cluster membership: %w", err)
	}
	return nil
}

// newTemporal builds the server. The server's logger panics where the
// server would end the program (a port it cannot bind): that becomes an
// error here, so `webhookd dev` says what went wrong and exits cleanly.
func newTemporal(conf *config.Config, logger slogAdapter, authorizer authorization.Authorizer,
	claimMapper authorization.ClaimMapper, noFairness bool) (ts temporal.Server, err error) {
	defer recoverAsError("build", &err)
	ts, err = temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// New search attributes are usable at once, not after a cache refresh.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			dynamicconfig.EnableEagerWorkflowStart.Key():                []dynamicconfig.ConstrainedValue{{Value: true}},
			// Task-queue priority and fairness: backed-up workflow tasks are
			// dispatched by priority key, then round-robin across fairness
			// keys (tenants), as docs/architecture.md, "Scheduling model" describes.
			dynamicconfig.MatchingUseNewMatcher.Key():  []dynamicconfig.ConstrainedValue{{Value: true}},
			dynamicconfig.MatchingEnableFairness.Key(): []dynamicconfig.ConstrainedValue{{Value: !noFairness}},
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: build: %w", err)
	}
	return ts, nil
}

func startTemporal(ts temporal.Server) (err error) {
	defer recoverAsError("start", &err)
	if err := ts.Start(); err != nil {
		return fmt.Errorf("devserver: start: %w", err)
	}
	return nil
}

func recoverAsError(stage string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("devserver: %s: %v", stage, r)
	}
}
