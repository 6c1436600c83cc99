package deploy_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Paths from this package's directory.
const (
	composeFile = "../compose.yaml"
	envExample  = "../.env.example"
)

// The services of the stack, and which of them run Pedidos's own images.
var (
	backends      = []string{"mongo", "redis", "nats-1", "nats-2", "nats-3"}
	pedidosImages = []string{"control", "generator", "processor", "api"}
	natsNodes     = []string{"nats-1", "nats-2", "nats-3"}
)

// loadCompose loads the compose file as docker compose does, with the
// variables of env files (and no others, not the process's environment),
// validated against the Compose Specification's schema.
func loadCompose(t *testing.T, envFiles ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithWorkingDirectory(".."),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithName("pedidos"),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.WithoutCancel(t.Context()))
}

func TestComposeFileIsValid(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(t, envExample)
	if err != nil {
		t.Fatalf("loading %s with %s: %v", composeFile, envExample, err)
	}
	want := append(slices.Clone(backends), pedidosImages...)
	if got := p.ServiceNames(); !sameSet(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	for name, s := range p.Services {
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 {
			t.Errorf("%s: no healthcheck", name)
		}
		if s.Restart == "" || s.Restart == "no" {
			t.Errorf("%s: restart %q, want a restart policy", name, s.Restart)
		}
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s depends on %s with condition %q, want %s", name, dep, d.Condition, types.ServiceConditionHealthy)
			}
		}
	}
	for _, name := range pedidosImages {
		s := p.Services[name]
		for _, b := range backends {
			if _, ok := s.DependsOn[b]; !ok {
				t.Errorf("%s does not wait for %s to be healthy", name, b)
			}
		}
		if name != "control" {
			if _, ok := s.DependsOn["control"]; !ok {
				t.Errorf("%s does not wait for control (the topology) to be healthy", name)
			}
		}
		if s.Build == nil || s.Build.Target != name || !strings.HasSuffix(s.Build.Dockerfile, "infra/Dockerfile") {
			t.Errorf("%s: build %+v, want target %s of infra/Dockerfile", name, s.Build, name)
		}
		if hc := s.HealthCheck; hc == nil || !slices.Equal(hc.Test, []string{"CMD", "/pedidos-" + name, "-healthcheck"}) {
			t.Errorf("%s: healthcheck %v, want the binary's own -healthcheck", name, hc)
		}
		env := s.Environment
		nats := value(env, "NATS_URL")
		for _, node := range natsNodes {
			if !strings.Contains(nats, "@"+node+":4222") {
				t.Errorf("%s: NATS_URL %q does not list %s", name, nats, node)
			}
		}
		if u := value(env, "MONGO_URI"); !strings.Contains(u, "replicaSet=rs0") || !strings.Contains(u, "@mongo:27017") {
			t.Errorf("%s: MONGO_URI %q, want the mongo replica set rs0", name, u)
		}
		if u := value(env, "REDIS_URL"); !strings.HasPrefix(u, "redis://:change-me-redis@redis:6379") {
			t.Errorf("%s: REDIS_URL %q, want redis with its password", name, u)
		}
	}
	if r := value(p.Services["control"].Environment, "NATS_REPLICAS"); r != "3" {
		t.Errorf("control: NATS_REPLICAS %q, want 3", r)
	}
	// Scalable: nothing that two processor containers could not share.
	if proc := p.Services["processor"]; proc.ContainerName != "" || len(proc.Ports) > 0 {
		t.Errorf("processor: container_name %q, ports %v: --scale processor=N would clash", proc.ContainerName, proc.Ports)
	}
	if api := p.Services["api"]; len(api.Ports) != 1 || api.Ports[0].Target != 3000 || api.Ports[0].Published != "3000" {
		t.Errorf("api: ports %+v, want 3000 published", api.Ports)
	}
	checkVolumes(t, p)
	checkNATSCluster(t, p)
	checkStores(t, p)
}

// checkVolumes checks that every stateful service keeps its data in a named
// volume of its own.
func checkVolumes(t *testing.T, p *types.Project) {
	t.Helper()
	seen := map[string]string{}
	for _, name := range backends {
		var named []string
		for _, v := range p.Services[name].Volumes {
			if v.Type == types.VolumeTypeVolume {
				named = append(named, v.Source)
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("%s: volume %s is not declared", name, v.Source)
				}
				if other, ok := seen[v.Source]; ok {
					t.Errorf("%s and %s share volume %s", name, other, v.Source)
				}
				seen[v.Source] = name
			}
		}
		if len(named) != 1 {
			t.Errorf("%s: named volumes %v, want one", name, named)
		}
	}
}

// checkNATSCluster checks that the three NATS servers form one JetStream
// cluster, each routed to the two others, each with its own name.
func checkNATSCluster(t *testing.T, p *types.Project) {
	t.Helper()
	for _, node := range natsNodes {
		flags := map[string]string{}
		for _, arg := range p.Services[node].Command {
			k, v, _ := strings.Cut(arg, "=")
			flags[k] = v
		}
		if _, js := flags["--jetstream"]; !js || flags["--store_dir"] == "" {
			t.Errorf("%s: %v, want JetStream with a store directory", node, flags)
		}
		if flags["--server_name"] != node || flags["--cluster_name"] != "pedidos" {
			t.Errorf("%s: server name %q, cluster %q", node, flags["--server_name"], flags["--cluster_name"])
		}
		var routes []string
		for r := range strings.SplitSeq(flags["--routes"], ",") {
			routes = append(routes, strings.TrimSuffix(strings.TrimPrefix(r, "nats://"), ":6222"))
		}
		var others []string
		for _, o := range natsNodes {
			if o != node {
				others = append(others, o)
			}
		}
		if !sameSet(routes, others) {
			t.Errorf("%s: routes to %v, want %v", node, routes, others)
		}
		if flags["--user"] == "" || flags["--pass"] == "" {
			t.Errorf("%s: no client credentials", node)
		}
	}
}

// checkStores checks MongoDB's replica set and Redis's append-only file.
func checkStores(t *testing.T, p *types.Project) {
	t.Helper()
	mongo := p.Services["mongo"]
	script := strings.Join(mongo.Entrypoint, " ")
	if !strings.Contains(script, "--replSet rs0") || !strings.Contains(script, "--keyFile") {
		t.Errorf("mongo: entrypoint %q, want a replica set rs0 with a key file", script)
	}
	if hc := strings.Join(mongo.HealthCheck.Test, " "); !strings.Contains(hc, "rs.initiate") || !strings.Contains(hc, "isWritablePrimary") {
		t.Errorf("mongo: healthcheck %q, want one that initiates the replica set and waits for the primary", hc)
	}
	if !strings.HasPrefix(mongo.Image, "mongo:7") {
		t.Errorf("mongo: image %q, want mongo:7", mongo.Image)
	}
	redis := p.Services["redis"]
	if cmd := strings.Join(redis.Command, " "); !strings.Contains(cmd, "--appendonly yes") || !strings.Contains(cmd, "--requirepass") {
		t.Errorf("redis: command %q, want the append-only file and a password", cmd)
	}
	if !strings.HasPrefix(redis.Image, "redis:7") {
		t.Errorf("redis: image %q, want redis:7", redis.Image)
	}
}

// TestComposeFileNeedsTheSecrets loads the file with no .env: it refuses,
// naming a password to set, rather than start with an empty one.
func TestComposeFileNeedsTheSecrets(t *testing.T) {
	t.Parallel()
	_, err := loadCompose(t)
	if err == nil || !strings.Contains(err.Error(), "in infra/.env") {
		t.Fatalf("loading %s without a .env = %v, want an error naming what to set in infra/.env", composeFile, err)
	}
}

// TestComposeFileWithComposeCLI has the compose command of this machine, if
// any, parse the file too: docker compose (v2, the plugin of the docker
// CLI) or docker-compose (v1, Debian's package). Neither needs a daemon for
// `config`.
func TestComposeFileWithComposeCLI(t *testing.T) {
	t.Parallel()
	var cmds [][]string
	if exec.CommandContext(t.Context(), "docker", "compose", "version").Run() == nil {
		cmds = append(cmds, []string{"docker", "compose"})
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		cmds = append(cmds, []string{"docker-compose"})
	}
	if len(cmds) == 0 {
		t.Skip("neither docker compose nor docker-compose is installed (apt-get install docker-compose)")
	}
	for _, c := range cmds {
		args := slices.Concat(c[1:], []string{"--env-file", envExample, "-f", composeFile, "config", "-q"})
		out, err := exec.CommandContext(t.Context(), c[0], args...).CombinedOutput()
		if err != nil {
			t.Errorf("%s %s: %v\n%s", c[0], strings.Join(args, " "), err, out)
		}
	}
}

// value is the value of key in a service's environment, "" when unset.
func value(env types.MappingWithEquals, key string) string {
	if v := env[key]; v != nil {
		return *v
	}
	return ""
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
