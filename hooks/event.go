package hooks

import (
	"encoding/json"
	"time"
)

// Kind is the kind of a power event: the program's argument and the last
// element of its MQTT topic.
type Kind string

// The events, in the order an outage usually brings them.
const (
	// PowerFail is the power-fail edge: mains-only IO was gated, the loss
	// is not decided yet.
	PowerFail Kind = "power-fail"
	// OutageConfirmed is the decided loss of mains: protection is in force
	// (Event.Confirmed says whether the phase voltages confirmed it).
	OutageConfirmed Kind = "outage-confirmed"
	// Blip is a power-fail edge that turned out not to be an outage.
	Blip Kind = "blip"
	// BudgetLow is the hold-up budget down to its final-flush margin.
	BudgetLow Kind = "budget-low"
	// Shutdown is the operating system about to be shut down before the
	// capacitor runs out.
	Shutdown Kind = "shutdown"
	// PowerRestored is the return of mains (or a start-up that found an
	// outage the capacitor ended: Event.Cold).
	PowerRestored Kind = "power-restored"
	// RecoveryComplete is the end of the recovery after a return: the
	// journal replayed, the daemon asleep until the next interrupt.
	RecoveryComplete Kind = "recovery-complete"
	// Alarm is an alarm raised (Event.Alarm names it, Event.Detail says
	// why).
	Alarm Kind = "alarm"
)

// Kinds returns every event kind, in the order of the constants.
func Kinds() []Kind {
	return []Kind{PowerFail, OutageConfirmed, Blip, BudgetLow, Shutdown, PowerRestored, RecoveryComplete, Alarm}
}

// Event is one power event as the program reads it on stdin and the broker
// keeps it: one JSON object. Fields without a value are left out, except
// the ones every event has (event, seq, time, mains_v, budget_left_s and
// the journal's fill).
type Event struct {
	// Kind is the event.
	Kind Kind `json:"event"`
	// Seq numbers the events Emit took from 1, per daemon run: a gap is
	// an event dropped (see Dropped).
	Seq uint64 `json:"seq"`
	// Time is when it happened.
	Time time.Time `json:"time"`
	// OutageID is the outage's DL/T 698.45 event 3106 number, the one
	// the master station knows it by; 0 (absent) outside an outage.
	OutageID uint32 `json:"outage_id,omitempty"`
	// OutageBegin is when the outage began (the power-fail edge).
	OutageBegin time.Time `json:"outage_begin,omitzero"`
	// MainsV are the phase voltages A, B, C of the latest good reading,
	// V, and MainsVAt when it was taken; empty when none was read yet.
	MainsV   []float64 `json:"mains_v"`
	MainsVAt time.Time `json:"mains_v_at,omitzero"`
	// BudgetLeftS is the hold-up time left, s: the whole budget while
	// mains is present.
	BudgetLeftS float64 `json:"budget_left_s"`
	// JournalUsed and JournalSize are the EEPROM journal's bytes in use
	// and capacity, JournalFillPct their ratio in percent; all 0 when the
	// journal did not answer in time.
	JournalUsed    int     `json:"journal_used"`
	JournalSize    int     `json:"journal_size"`
	JournalFillPct float64 `json:"journal_fill_pct"`
	// Confirmed says whether the phase voltages confirmed the loss
	// (outage-confirmed) or the return (power-restored).
	Confirmed *bool `json:"confirmed,omitempty"`
	// Cold says whether the capacitor ran out (power-restored,
	// recovery-complete).
	Cold *bool `json:"cold,omitempty"`
	// Alarm is the alarm's code (alarm).
	Alarm string `json:"alarm,omitempty"`
	// Detail is what the event carries in words: the daemon's timeline
	// detail, the alarm's error, the shutdown command.
	Detail string `json:"detail,omitempty"`
	// Dropped counts the events this sink dropped (its queue was full)
	// since the one it delivered before this.
	Dropped uint64 `json:"dropped,omitempty"`
}

// Bool returns a pointer to b, for Event.Confirmed and Event.Cold.
func Bool(b bool) *bool { return &b }

// encode is the event as a sink hands it on: JSON and a newline.
func (e Event) encode() []byte {
	if e.MainsV == nil {
		e.MainsV = []float64{}
	}
	b, err := json.Marshal(e)
	if err != nil {
		// Only a NaN or infinite float fails; the daemon never has one
		// here, but a hook must still get its event.
		e.MainsV, e.BudgetLeftS, e.JournalFillPct = []float64{}, 0, 0
		b, _ = json.Marshal(e)
	}
	return append(b, '\n')
}
