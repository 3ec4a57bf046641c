package hooks

import (
	"slices"
	"testing"
)

func TestQueueDropsOldest(t *testing.T) {
	cases := []struct {
		name     string
		capacity int
		push     int // events 1..push pushed before popping
		want     []uint64
		dropped  uint64 // Dropped of the first event popped
	}{
		{"room for all", 4, 3, []uint64{1, 2, 3}, 0},
		{"exactly full", 3, 3, []uint64{1, 2, 3}, 0},
		{"one over", 3, 4, []uint64{2, 3, 4}, 1},
		{"capacity one keeps the newest", 1, 5, []uint64{5}, 4},
		{"wraps twice", 2, 7, []uint64{6, 7}, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQueue(c.capacity)
			drops := 0
			for i := 1; i <= c.push; i++ {
				if q.push(Event{Seq: uint64(i)}) {
					drops++
				}
			}
			if want := max(0, c.push-c.capacity); drops != want {
				t.Errorf("push reported %d drops, want %d", drops, want)
			}
			var got []uint64
			for i := 0; ; i++ {
				e, ok := q.pop()
				if !ok {
					break
				}
				if i == 0 && e.Dropped != c.dropped {
					t.Errorf("first event's Dropped = %d, want %d", e.Dropped, c.dropped)
				}
				if i > 0 && e.Dropped != 0 {
					t.Errorf("event %d Dropped = %d, want 0 (counted once)", e.Seq, e.Dropped)
				}
				got = append(got, e.Seq)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("popped %v, want %v", got, c.want)
			}
			if n, d := q.counts(); n != 0 || d != c.dropped {
				t.Errorf("counts = %d waiting, %d dropped; want 0, %d", n, d, c.dropped)
			}
		})
	}
}

func TestNilHooks(t *testing.T) {
	var h *Hooks
	h.Emit(Event{Kind: Blip}) // no panic, nothing delivered
	if st := h.Stats(); st.Emitted != 0 || st.Exec != nil || st.MQTT != nil {
		t.Errorf("nil hooks stats = %+v", st)
	}
}

func TestNewRefuses(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"relative exec", Config{Exec: "hook.sh"}},
		{"negative timeout", Config{Timeout: -1}},
		{"negative queue", Config{QueueLen: -1}},
		{"broker scheme", Config{MQTT: &MQTTConfig{Broker: "http://127.0.0.1:1883"}}},
		{"broker without port", Config{MQTT: &MQTTConfig{Broker: "tcp://127.0.0.1"}}},
		{"relative unix socket", Config{MQTT: &MQTTConfig{Broker: "unix://mqtt.sock"}}},
		{"qos 2", Config{MQTT: &MQTTConfig{Broker: "tcp://127.0.0.1:1883", QoS: 2}}},
		{"wildcard prefix", Config{MQTT: &MQTTConfig{Broker: "tcp://127.0.0.1:1883", TopicPrefix: "holdup/#/"}}},
		{"wildcard topic", Config{MQTT: &MQTTConfig{Broker: "tcp://127.0.0.1:1883", Topics: map[Kind]string{Blip: "a/+/b"}}}},
	}
	for _, c := range cases {
		if _, err := New(c.cfg); err == nil {
			t.Errorf("%s: New accepted %+v", c.name, c.cfg)
		}
	}
	if _, err := New(Config{Exec: "/bin/true", MQTT: &MQTTConfig{Broker: "unix:///run/mosquitto.sock"}}); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}
