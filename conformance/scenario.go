package conformance

import "testing"

// Scenario is one conformance check: a named function run as a subtest
// against an Env.
type Scenario struct {
	// Name is the subtest name, "Area/What".
	Name string
	// Run performs the scenario. It must create its own resources with
	// Env.Name so it can run in parallel with every other scenario.
	Run func(t *testing.T, e *Env)
	// Serial marks a scenario that must not run in parallel with others
	// (for example one that bounds elapsed wall time tightly).
	Serial bool
}

// Scenarios returns every scenario of the suite, grouped by area. Library
// scenarios (conformance/library_*.go) are appended here.
func Scenarios() []Scenario {
	var all []Scenario
	for _, group := range [][]Scenario{
		sqsBasicScenarios(),
		visibilityScenarios(),
		fifoScenarios(),
		batchScenarios(),
		snsScenarios(),
		fanoutScenarios(),
		filterScenarios(),
		errorScenarios(),
		fidelityScenarios(),
		redriveScenarios(),
		libraryScenarios(),
	} {
		all = append(all, group...)
	}
	return all
}

// RunAll runs every scenario as a subtest of t against e, in parallel
// unless a scenario is marked Serial.
func RunAll(t *testing.T, e *Env) {
	t.Helper()
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			if !s.Serial {
				t.Parallel()
			}
			s.Run(t, e)
		})
	}
}
