package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEngineDoesNotImportWorkflow keeps the kernel below the approval
// runtime: engine/workflow imports engine, never the other way round
// (see ../shared/STYLE.md, "The house"); nor does it import a metrics
// library: cmd reports its metrics through engine.Observer.
func TestEngineDoesNotImportWorkflow(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found: dependency check skipped")
	}
	out, err := exec.Command(goBin, "list", "-deps", "formwork/engine").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages, expected the engine's dependencies:\n%s", len(deps), out)
	}
	for _, d := range deps {
		if d == "formwork/engine/workflow" || strings.HasPrefix(d, "formwork/engine/workflow/") ||
			d == "formwork/server" || d == "formwork/web" || strings.HasPrefix(d, "formwork/engine/store/") || d == "formwork/engine/queue" ||
			strings.HasPrefix(d, "github.com/prometheus/") {
			t.Errorf("package engine depends on %s", d)
		}
	}
}
