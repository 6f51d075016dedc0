package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The deployment files (deploy/) are checked here without a cluster or a
// Docker daemon: every manifest parses; images are pinned; containers run as
// a user other than root on a read-only root filesystem; web containers have
// probes; every Secret, ConfigMap, volume and claim a pod names exists; every
// FORMWORK_* variable any of them sets is a setting `formwork serve` knows.

// deployDir is the repository's deploy directory, seen from this package.
const deployDir = "../../deploy"

func TestDeployManifests(t *testing.T) {
	for _, p := range checkDeploy(deployDir, serveEnvNames()) {
		t.Error(p)
	}
}

// TestDeployManifestsRefuseBrokenCopies breaks a copy of deploy/ in one
// place at a time and wants the check to name the break.
func TestDeployManifestsRefuseBrokenCopies(t *testing.T) {
	known := serveEnvNames()
	cases := []struct {
		name, file, old, new, want string
	}{
		{"image on latest", "k8s/web.yaml", "image: registry.example.com/formwork:1.0.0", "image: registry.example.com/formwork:latest", "not pinned"},
		{"image without tag", "compose/compose.yaml", "image: redis:7.4-alpine", "image: redis", "not pinned"},
		{"missing readiness probe", "k8s/web.yaml", "readinessProbe:", "readinessProbeGone:", "no readinessProbe"},
		{"unknown secret", "k8s/worker.yaml", "secretName: formwork-secrets", "secretName: formwork-secret", `Secret "formwork-secret"`},
		{"unknown secret key", "k8s/web.yaml", "key: redis-addr", "key: redis-url", `key "redis-url"`},
		{"unknown config map", "k8s/web.yaml", "name: formwork-settings", "name: formwork-config", `ConfigMap "formwork-config"`},
		{"root allowed", "k8s/worker.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"unknown setting", "compose/compose.yaml", "FORMWORK_LOG_FORMAT: json", "FORMWORK_LOG_FORMATT: json", "FORMWORK_LOG_FORMATT"},
		{"compose secret missing", "compose/compose.yaml", "secrets: [master_key]", "secrets: [master_keys]", "master_keys"},
		{"Dockerfile as root", "Dockerfile", "USER 65532:65532", "USER root", "USER"},
		{"Dockerfile without healthcheck", "Dockerfile", "HEALTHCHECK --interval", "# HEALTHCHECK --interval", "HEALTHCHECK"},
		{"systemd without sandbox", "systemd/formwork.service", "ProtectSystem=strict", "ProtectSystem=full", "ProtectSystem=strict"},
		{"not valid YAML", "k8s/ingress.yaml", "kind: Ingress", "kind: [Ingress", "ingress.yaml"},
		{"resource not listed", "k8s/kustomization.yaml", "  - worker.yaml\n", "", "worker.yaml is not listed"},
		{"disruption budget selects nothing", "k8s/worker.yaml", "minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: formwork\n      app.kubernetes.io/component: worker", "minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: formwork\n      app.kubernetes.io/component: workers", "matches no pod template"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(deployDir)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.FromSlash(c.file))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(c.old)) {
				t.Fatalf("%s does not hold %q: update this case", c.file, c.old)
			}
			if err := os.WriteFile(p, bytes.Replace(b, []byte(c.old), []byte(c.new), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			problems := checkDeploy(dir, known)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }) {
				t.Errorf("no problem names %q; got %q", c.want, problems)
			}
		})
	}
}

// TestDeploySettingsParse gives each formwork command the deployment files
// start, with the settings they give it, to the parser main uses: a value
// the binary would refuse at start (a log format it does not know, a bad
// duration or range) fails here. Secret files are stood in for by one
// temporary file, since their paths exist only where the files are deployed.
func TestDeploySettingsParse(t *testing.T) {
	procs := readDeploy(deployDir, serveEnvNames()).processes
	if len(procs) < 10 {
		t.Fatalf("found %d formwork commands in the deployment files, want the image's, compose's, Kubernetes' and the unit's", len(procs))
	}
	for _, p := range procs {
		t.Run(p.where+" "+strings.Join(p.args, " "), func(t *testing.T) {
			if err := parseDeploySettings(t, p); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("a refused value", func(t *testing.T) {
		p := deployProcess{args: []string{"serve"}, env: map[string]string{"FORMWORK_LOG_FORMAT": "yaml"}}
		if err := parseDeploySettings(t, p); err == nil {
			t.Error("FORMWORK_LOG_FORMAT=yaml parsed")
		}
	})
}

// parseDeploySettings parses p's command line with only p's FORMWORK_* variables
// set.
func parseDeploySettings(t *testing.T, p deployProcess) error {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "FORMWORK_") {
			t.Setenv(name, "") // restored after the test
			os.Unsetenv(name)
		}
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("a-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range p.env {
		if strings.HasSuffix(k, "_FILE") {
			v = secret
		}
		t.Setenv(k, v)
	}
	if _, err := newParser(&CLI{}).Parse(p.args); err != nil {
		return fmt.Errorf("formwork %s: %w", strings.Join(p.args, " "), err)
	}
	return nil
}

// serveEnvNames are the environment variables `formwork serve` reads as
// settings: the Env names of its flags (the globals' among them), as
// `formwork serve --help` lists them.
func serveEnvNames() map[string]bool {
	k := newParser(&CLI{})
	names := map[string]bool{}
	for _, n := range k.Model.Children {
		if n.Name != "serve" {
			continue
		}
		for _, group := range n.AllFlags(false) {
			for _, f := range group {
				for _, e := range f.Envs {
					names[e] = true
				}
			}
		}
	}
	return names
}

// checkDeploy checks the deployment files under dir and returns one line
// per problem, each naming its file.
func checkDeploy(dir string, knownEnv map[string]bool) []string {
	return readDeploy(dir, knownEnv).problems
}

// readDeploy reads and checks the deployment files under dir.
func readDeploy(dir string, knownEnv map[string]bool) *deployCheck {
	c := &deployCheck{knownEnv: knownEnv, dir: dir}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".md") {
			return nil
		}
		c.checkEnvNames(rel, b)
		switch {
		case path.Base(rel) == "Dockerfile":
			c.checkDockerfile(rel, b)
		case strings.HasSuffix(rel, ".service"):
			c.checkUnit(rel, b)
		case strings.HasPrefix(rel, "prometheus/"):
			// Prometheus rule files and their tests, not Kubernetes
			// objects: TestAlertRules checks them
			c.parseYAML(rel, b)
		case path.Base(rel) == "compose.yaml":
			if docs := c.parseYAML(rel, b); len(docs) == 1 {
				c.checkCompose(rel, docs[0])
			}
		case strings.HasSuffix(rel, ".yaml") || strings.HasSuffix(rel, ".yml"):
			for _, doc := range c.parseYAML(rel, b) {
				c.addObject(rel, doc)
			}
		}
		return nil
	})
	if err != nil {
		c.addf("deploy", "%v", err)
	}
	c.checkKubernetes()
	for _, need := range []string{"Dockerfile", "compose/compose.yaml", "systemd/formwork.service"} {
		if _, err := os.Stat(filepath.Join(dir, need)); err != nil {
			c.addf(need, "missing")
		}
	}
	for _, need := range wantObjects {
		if !slices.ContainsFunc(c.objects, func(o k8sObject) bool {
			return getString(o.obj, "kind") == need.kind && getString(o.obj, "metadata", "name") == need.name
		}) {
			c.addf("k8s", "no %s %s", need.kind, need.name)
		}
	}
	return c
}

// wantObjects are the Kubernetes objects of an installation (issue 19).
var wantObjects = []struct{ kind, name string }{
	{"Kustomization", ""}, {"ConfigMap", "formwork-settings"}, {"Secret", "formwork-secrets"},
	{"Deployment", "formwork-web"}, {"Service", "formwork-web"}, {"Ingress", "formwork"},
	{"HorizontalPodAutoscaler", "formwork-web"}, {"PodDisruptionBudget", "formwork-web"},
	{"Deployment", "formwork-worker"}, {"PodDisruptionBudget", "formwork-worker"},
	{"Job", "formwork-migrate"},
}

// deployCheck collects what the files declare and the problems found.
type deployCheck struct {
	dir       string
	knownEnv  map[string]bool
	problems  []string
	objects   []k8sObject
	processes []deployProcess
}

// deployProcess is one formwork command a deployment file starts: its
// arguments and the FORMWORK_* variables it is given.
type deployProcess struct {
	where string
	args  []string
	env   map[string]string
}

// addProcess keeps a formwork command line and its settings, leaving out
// variables that are not Formwork's.
func (c *deployCheck) addProcess(where string, args []string, env map[string]string) {
	own := map[string]string{}
	for k, v := range env {
		if strings.HasPrefix(k, "FORMWORK_") {
			own[k] = v
		}
	}
	c.processes = append(c.processes, deployProcess{where: where, args: args, env: own})
}

// composeVarRE is compose's ${NAME} or ${NAME:-default}.
var composeVarRE = regexp.MustCompile(`\$\{[A-Z0-9_]+(:-([^}]*))?\}`)

// k8sObject is one Kubernetes object and the file it is in.
type k8sObject struct {
	file string
	obj  map[string]any
}

func (c *deployCheck) addf(file, format string, args ...any) {
	c.problems = append(c.problems, file+": "+fmt.Sprintf(format, args...))
}

var envNameRE = regexp.MustCompile(`\bFORMWORK_[A-Z0-9_]*[A-Z0-9]\b`)

// checkEnvNames wants every FORMWORK_* name in a file to be a setting.
func (c *deployCheck) checkEnvNames(file string, b []byte) {
	seen := map[string]bool{}
	for _, name := range envNameRE.FindAllString(string(b), -1) {
		if !c.knownEnv[name] && !seen[name] {
			seen[name] = true
			c.addf(file, "%s is not a setting of `formwork serve`", name)
		}
	}
}

// parseYAML decodes every document of a YAML file.
func (c *deployCheck) parseYAML(file string, b []byte) []map[string]any {
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			c.addf(file, "not valid YAML: %v", err)
			return nil
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// pinned reports whether an image names a version: a tag other than
// latest, or a digest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	name := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(name, ":")
	return i > 0 && i < len(name)-1 && name[i+1:] != "latest"
}

// checkDockerfile wants a multi-stage build on pinned images, a final
// numeric user other than root, a HEALTHCHECK and the data volume.
func (c *deployCheck) checkDockerfile(file string, b []byte) {
	var froms []string
	stages := map[string]bool{}
	user, health, volume := "", false, false
	env := map[string]string{}
	var cmd []string
	text := strings.ReplaceAll(string(b), "\\\n", " ") // continuation lines
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			img := f[1]
			for _, a := range f[1:] {
				if !strings.HasPrefix(a, "--") {
					img = a
					break
				}
			}
			if !stages[img] && !pinned(img) {
				c.addf(file, "FROM %s: image not pinned to a version", img)
			}
			if len(f) >= 4 && strings.EqualFold(f[len(f)-2], "AS") {
				stages[f[len(f)-1]] = true
			}
			froms = append(froms, img)
			user = "" // a stage starts as root
		case "USER":
			user = f[1]
		case "HEALTHCHECK":
			health = !strings.EqualFold(f[1], "NONE")
		case "VOLUME":
			volume = true
		case "ENV":
			for _, kv := range f[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
		case "CMD":
			cmd = nil
			_ = json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), f[0]))), &cmd)
		}
	}
	c.addProcess(file, cmd, env)
	if len(froms) < 2 {
		c.addf(file, "not a multi-stage build")
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		c.addf(file, "the image's USER is %q: want a numeric user other than root", user)
	}
	if !health {
		c.addf(file, "no HEALTHCHECK")
	}
	if !volume {
		c.addf(file, "no VOLUME for the data directory")
	}
}

// checkUnit wants the systemd unit to run as its own user in a sandbox.
func (c *deployCheck) checkUnit(file string, b []byte) {
	set := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && !strings.HasPrefix(k, "#") {
			set[k] = append(set[k], v)
		}
	}
	want := map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes"}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !slices.Contains(set[k], want[k]) {
			c.addf(file, "%s=%s missing", k, want[k])
		}
	}
	env := map[string]string{}
	for _, kv := range set["Environment"] {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// the unit's EnvironmentFile is made from the example beside it
	if ex, err := os.ReadFile(filepath.Join(c.dir, path.Dir(file), "formwork.env.example")); err == nil {
		for _, line := range strings.Split(string(ex), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
				env[k] = v
			}
		}
	}
	for _, k := range []string{"ExecStartPre", "ExecStart"} {
		for _, line := range set[k] {
			if f := strings.Fields(line); len(f) > 0 {
				c.addProcess(file+" "+k, f[1:], env)
			}
		}
	}
	if u := set["User"]; len(u) == 0 || u[0] == "root" || u[0] == "0" {
		c.addf(file, "User= must name a user other than root")
	}
	for _, k := range []string{"StateDirectory", "EnvironmentFile", "ExecStart"} {
		if len(set[k]) == 0 {
			c.addf(file, "%s= missing", k)
		}
	}
}

// get walks a decoded YAML value by keys.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func getString(v any, keys ...string) string {
	s, _ := get(v, keys...).(string)
	return s
}

func getList(v any, keys ...string) []any {
	l, _ := get(v, keys...).([]any)
	return l
}

func getBool(v any, keys ...string) (value, set bool) {
	value, set = get(v, keys...).(bool)
	return value, set
}

// names returns the list's entries as strings, or a mapping's keys
// (compose writes both).
func names(v any) []string {
	var out []string
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case map[string]any:
				out = append(out, getString(e, "source"))
			}
		}
	case map[string]any:
		for k := range v {
			out = append(out, k)
		}
		sort.Strings(out)
	}
	return out
}

// checkCompose checks the compose file: pinned images, a non-root user on
// a read-only root for Formwork's services, and every secret, volume,
// network, dependency and mounted file it names.
func (c *deployCheck) checkCompose(file string, doc map[string]any) {
	services, _ := get(doc, "services").(map[string]any)
	if len(services) == 0 {
		c.addf(file, "no services")
	}
	top := func(kind string) map[string]bool {
		return boolSet(names(get(doc, kind)))
	}
	secrets, volumes, networks := top("secrets"), top("volumes"), top("networks")
	for _, name := range slices.Sorted(maps.Keys(services)) {
		s := services[name]
		where := fmt.Sprintf("%s: service %s", file, name)
		image := getString(s, "image")
		if !pinned(image) {
			c.problems = append(c.problems, fmt.Sprintf("%s: image %q not pinned to a version", where, image))
		}
		for _, sec := range names(get(s, "secrets")) {
			if !secrets[sec] {
				c.problems = append(c.problems, fmt.Sprintf("%s: secret %s is not declared", where, sec))
			}
		}
		for _, n := range names(get(s, "networks")) {
			if !networks[n] {
				c.problems = append(c.problems, fmt.Sprintf("%s: network %s is not declared", where, n))
			}
		}
		for _, dep := range names(get(s, "depends_on")) {
			if services[dep] == nil {
				c.problems = append(c.problems, fmt.Sprintf("%s: depends on unknown service %s", where, dep))
			}
			cond := getString(s, "depends_on", dep, "condition")
			if cond == "service_healthy" && get(services[dep], "healthcheck") == nil && !strings.HasPrefix(getString(services[dep], "image"), "formwork:") {
				c.problems = append(c.problems, fmt.Sprintf("%s: waits for %s to be healthy, which has no healthcheck", where, dep))
			}
		}
		for _, v := range getList(s, "volumes") {
			src, _, _ := strings.Cut(fmt.Sprint(v), ":")
			switch {
			case strings.HasPrefix(src, "./"):
				if _, err := os.Stat(filepath.Join(c.dir, path.Dir(file), src)); err != nil {
					c.problems = append(c.problems, fmt.Sprintf("%s: mounts %s, which is not in the repository", where, src))
				}
			case !strings.HasPrefix(src, "/") && !volumes[src]:
				c.problems = append(c.problems, fmt.Sprintf("%s: volume %s is not declared", where, src))
			}
		}
		if !strings.HasPrefix(image, "formwork:") {
			continue
		}
		env := map[string]string{}
		if m, ok := get(s, "environment").(map[string]any); ok {
			for k, v := range m {
				env[k] = composeVarRE.ReplaceAllString(fmt.Sprint(v), "$2")
			}
		}
		var args []string
		for _, a := range getList(s, "command") {
			args = append(args, fmt.Sprint(a))
		}
		c.addProcess(where, args, env)
		uid, _, _ := strings.Cut(getString(s, "user"), ":")
		if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			c.problems = append(c.problems, fmt.Sprintf("%s: user %q: want a numeric user other than root", where, getString(s, "user")))
		}
		if ro, _ := getBool(s, "read_only"); !ro {
			c.problems = append(c.problems, fmt.Sprintf("%s: read_only is not true", where))
		}
		if keyFile := getString(s, "environment", "FORMWORK_MASTER_KEY_FILE"); keyFile != "" {
			if sec, ok := strings.CutPrefix(keyFile, "/run/secrets/"); !ok || !slices.Contains(names(get(s, "secrets")), sec) {
				c.problems = append(c.problems, fmt.Sprintf("%s: FORMWORK_MASTER_KEY_FILE %s is not one of its secrets", where, keyFile))
			}
		}
		if cmd := fmt.Sprint(get(s, "command")); strings.Contains(cmd, "serve") {
			if getString(s, "environment", "FORMWORK_MASTER_KEY_FILE") == "" {
				c.problems = append(c.problems, fmt.Sprintf("%s: serves without FORMWORK_MASTER_KEY_FILE: each process would make its own master key", where))
			}
			if d, _ := getBool(s, "healthcheck", "disable"); d {
				c.problems = append(c.problems, fmt.Sprintf("%s: serves with its healthcheck disabled", where))
			}
		}
	}
}

func boolSet(keys []string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// addObject keeps a Kubernetes object (or a kustomization) for
// checkKubernetes.
func (c *deployCheck) addObject(file string, doc map[string]any) {
	if getString(doc, "kind") == "" || getString(doc, "apiVersion") == "" {
		c.addf(file, "a document without kind and apiVersion")
		return
	}
	c.objects = append(c.objects, k8sObject{file: file, obj: doc})
}

// podSpec returns the pod template's spec of a workload, or nil.
func podSpec(o map[string]any) map[string]any {
	var spec any
	switch getString(o, "kind") {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		spec = get(o, "spec", "template", "spec")
	case "CronJob":
		spec = get(o, "spec", "jobTemplate", "spec", "template", "spec")
	case "Pod":
		spec = get(o, "spec")
	}
	m, _ := spec.(map[string]any)
	return m
}

// checkKubernetes checks the Kubernetes objects against each other.
func (c *deployCheck) checkKubernetes() {
	byKind := map[string]map[string]map[string]any{} // kind → name → object
	files := map[string]bool{}
	for _, o := range c.objects {
		kind, name := getString(o.obj, "kind"), getString(o.obj, "metadata", "name")
		if byKind[kind] == nil {
			byKind[kind] = map[string]map[string]any{}
		}
		byKind[kind][name] = o.obj
		files[o.file] = true
	}
	secretKeys := func(name string) map[string]bool {
		s := byKind["Secret"][name]
		if s == nil {
			return nil
		}
		keys := boolSet(names(get(s, "data")))
		for k := range boolSet(names(get(s, "stringData"))) {
			keys[k] = true
		}
		return keys
	}
	for _, o := range c.objects {
		kind, name := getString(o.obj, "kind"), getString(o.obj, "metadata", "name")
		where := fmt.Sprintf("%s: %s %s", o.file, kind, name)
		bad := func(format string, args ...any) {
			c.problems = append(c.problems, where+": "+fmt.Sprintf(format, args...))
		}
		switch kind {
		case "Kustomization":
			dir := path.Dir(o.file)
			listed := map[string]bool{}
			for _, r := range getList(o.obj, "resources") {
				p := path.Join(dir, fmt.Sprint(r))
				listed[p] = true
				if !files[p] {
					bad("resource %s is not a manifest here", r)
				}
			}
			for f := range files {
				if path.Dir(f) == dir && !listed[f] && path.Base(f) != "kustomization.yaml" && !strings.HasSuffix(f, ".example.yaml") {
					bad("%s is not listed in resources: it would never be applied", f)
				}
			}
			for _, img := range getList(o.obj, "images") {
				if tag := getString(img, "newTag"); tag == "" || tag == "latest" {
					bad("image %s: newTag %q is not a version", getString(img, "name"), tag)
				}
			}
		case "HorizontalPodAutoscaler":
			ref := getString(o.obj, "spec", "scaleTargetRef", "name")
			if byKind[getString(o.obj, "spec", "scaleTargetRef", "kind")][ref] == nil {
				bad("scales %s, which is not here", ref)
			}
		case "PodDisruptionBudget", "Service":
			sel, _ := get(o.obj, "spec", "selector", "matchLabels").(map[string]any)
			if kind == "Service" {
				sel, _ = get(o.obj, "spec", "selector").(map[string]any)
			}
			if len(sel) == 0 || !c.selectsAPod(sel) {
				bad("its selector %v matches no pod template here", sel)
			}
		case "Ingress":
			for _, rule := range getList(o.obj, "spec", "rules") {
				for _, p := range getList(rule, "http", "paths") {
					svc := getString(p, "backend", "service", "name")
					if byKind["Service"][svc] == nil {
						bad("routes to Service %s, which is not here", svc)
					}
				}
			}
		}
		spec := podSpec(o.obj)
		if spec == nil {
			continue
		}
		if automount, set := getBool(spec, "automountServiceAccountToken"); !set || automount {
			bad("automountServiceAccountToken is not false")
		}
		podNonRoot, _ := getBool(spec, "securityContext", "runAsNonRoot")
		volumes := map[string]bool{}
		for _, v := range getList(spec, "volumes") {
			volumes[getString(v, "name")] = true
			if s := getString(v, "secret", "secretName"); s != "" {
				if keys := secretKeys(s); keys == nil {
					bad("volume %s: Secret %q is not here", getString(v, "name"), s)
				} else {
					for _, it := range getList(v, "secret", "items") {
						if k := getString(it, "key"); !keys[k] {
							bad("volume %s: Secret %s has no key %q", getString(v, "name"), s, k)
						}
					}
				}
			}
			if cm := getString(v, "configMap", "name"); cm != "" && byKind["ConfigMap"][cm] == nil {
				bad("volume %s: ConfigMap %q is not here", getString(v, "name"), cm)
			}
			if pvc := getString(v, "persistentVolumeClaim", "claimName"); pvc != "" && byKind["PersistentVolumeClaim"][pvc] == nil {
				bad("volume %s: PersistentVolumeClaim %q is not here", getString(v, "name"), pvc)
			}
		}
		containers := append(getList(spec, "initContainers"), getList(spec, "containers")...)
		if len(containers) == 0 {
			bad("no containers")
		}
		for _, ctr := range containers {
			cname := getString(ctr, "name")
			cbad := func(format string, args ...any) { bad("container %s: "+format, append([]any{cname}, args...)...) }
			if img := getString(ctr, "image"); !pinned(img) {
				cbad("image %q not pinned to a version", img)
			}
			if nonRoot, set := getBool(ctr, "securityContext", "runAsNonRoot"); !(nonRoot || (podNonRoot && !set)) {
				cbad("runAsNonRoot is not true")
			}
			if ro, _ := getBool(ctr, "securityContext", "readOnlyRootFilesystem"); !ro {
				cbad("readOnlyRootFilesystem is not true")
			}
			if esc, set := getBool(ctr, "securityContext", "allowPrivilegeEscalation"); !set || esc {
				cbad("allowPrivilegeEscalation is not false")
			}
			if !slices.Contains(names(get(ctr, "securityContext", "capabilities", "drop")), "ALL") {
				cbad("capabilities do not drop ALL")
			}
			for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
				a, b, _ := strings.Cut(r, ".")
				if get(ctr, "resources", a, b) == nil {
					cbad("no resources.%s", r)
				}
			}
			ports := map[string]bool{}
			for _, p := range getList(ctr, "ports") {
				ports[getString(p, "name")] = true
			}
			// a container that serves HTTP is watched; one that serves the
			// application (port http) also says when it is ready
			if len(ports) > 0 && get(ctr, "livenessProbe") == nil {
				cbad("no livenessProbe")
			}
			if ports["http"] && get(ctr, "readinessProbe") == nil {
				cbad("no readinessProbe")
			}
			for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
				if port := get(ctr, probe, "httpGet", "port"); port != nil {
					if s, ok := port.(string); ok && !ports[s] {
						cbad("%s asks port %s, which the container does not name", probe, s)
					}
				}
			}
			for _, m := range getList(ctr, "volumeMounts") {
				if !volumes[getString(m, "name")] {
					cbad("mounts volume %s, which the pod does not have", getString(m, "name"))
				}
			}
			for _, e := range getList(ctr, "env") {
				if s := getString(e, "valueFrom", "secretKeyRef", "name"); s != "" {
					k := getString(e, "valueFrom", "secretKeyRef", "key")
					if keys := secretKeys(s); keys == nil {
						cbad("env %s: Secret %q is not here", getString(e, "name"), s)
					} else if !keys[k] {
						cbad("env %s: Secret %s has no key %q", getString(e, "name"), s, k)
					}
				}
				if cm := getString(e, "valueFrom", "configMapKeyRef", "name"); cm != "" && byKind["ConfigMap"][cm] == nil {
					cbad("env %s: ConfigMap %q is not here", getString(e, "name"), cm)
				}
			}
			env := map[string]string{}
			for _, e := range getList(ctr, "envFrom") {
				if s := getString(e, "secretRef", "name"); s != "" && byKind["Secret"][s] == nil {
					cbad("envFrom: Secret %q is not here", s)
				}
				cm := getString(e, "configMapRef", "name")
				if cm != "" && byKind["ConfigMap"][cm] == nil {
					cbad("envFrom: ConfigMap %q is not here", cm)
				}
				if data, ok := get(byKind["ConfigMap"][cm], "data").(map[string]any); ok {
					for k, v := range data {
						env[k] = fmt.Sprint(v)
					}
				}
			}
			for _, e := range getList(ctr, "env") {
				name := getString(e, "name")
				if v, ok := get(e, "value").(string); ok {
					env[name] = v
				} else if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
					env[name] = getString(byKind["Secret"][getString(ref, "name")], "stringData", getString(ref, "key"))
				}
			}
			if strings.Contains(getString(ctr, "image"), "/formwork:") {
				var args []string
				for _, a := range getList(ctr, "args") {
					args = append(args, fmt.Sprint(a))
				}
				c.addProcess(where+" container "+cname, args, env)
			}
		}
	}
}

// selectsAPod reports whether some pod template carries every label of sel.
func (c *deployCheck) selectsAPod(sel map[string]any) bool {
	for _, o := range c.objects {
		if podSpec(o.obj) == nil {
			continue
		}
		labels, _ := get(o.obj, "spec", "template", "metadata", "labels").(map[string]any)
		match := labels != nil
		for k, v := range sel {
			if labels[k] != v {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}
