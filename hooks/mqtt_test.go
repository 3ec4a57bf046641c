package hooks

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// requireMosquitto names the environment variable that turns a missing
// mosquitto into a failure (CI installs it: .ci/deps).
const requireMosquitto = "HOLDUP_REQUIRE_MOSQUITTO"

// mosquittoPath finds Debian's mosquitto (in /usr/sbin, often not on a
// user's PATH); it skips the test when there is none, or fails it when
// HOLDUP_REQUIRE_MOSQUITTO=1.
func mosquittoPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv(requireMosquitto) == "1" {
		t.Fatalf("mosquitto not installed and %s=1: install it (apt-get install mosquitto; .ci/deps does)", requireMosquitto)
	}
	t.Skipf("mosquitto not installed: the MQTT publisher is tested against a real broker (apt-get install mosquitto; %s=1 makes this a failure)", requireMosquitto)
	return ""
}

// freePort returns a loopback TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startMosquitto runs a broker with the given listener line ("listener
// PORT 127.0.0.1" or "listener 0 /path/to/socket") until the test ends,
// and returns once it says it is running.
func startMosquitto(t *testing.T, listener string) {
	t.Helper()
	bin := mosquittoPath(t)
	dir := t.TempDir()
	conf := listener + "\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type all\n"
	if os.Geteuid() == 0 {
		conf += "user root\n" // else it drops to the mosquitto user, who cannot reach the test's directories
	}
	cp := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(cp, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cp)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	running := make(chan struct{})
	var log strings.Builder
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if strings.Contains(sc.Text(), " running") {
				once.Do(func() { close(running) })
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			logMu.Lock()
			t.Logf("mosquitto log:\n%s", log.String())
			logMu.Unlock()
		}
	})
	select {
	case <-running:
	case <-exited:
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("mosquitto exited at start:\n%s", log.String())
	case <-time.After(wait):
		t.Fatal("mosquitto did not start")
	}
}

// message is one message a subscriber got.
type message struct {
	topic    string
	payload  string
	retained bool
}

// subscribe connects a paho client to url and subscribes to filter; the
// messages arrive on the channel.
func subscribe(t *testing.T, url, id, filter string) <-chan message {
	t.Helper()
	ch := make(chan message, 64)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscriber connect to %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		ch <- message{m.Topic(), string(m.Payload()), m.Retained()}
	})
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return ch
}

// collect reads messages until every topic in want was seen, and returns
// the last one of each.
func collect(t *testing.T, ch <-chan message, want ...string) map[string]message {
	t.Helper()
	got := map[string]message{}
	deadline := time.After(wait)
	for {
		done := true
		for _, w := range want {
			if _, ok := got[w]; !ok {
				done = false
			}
		}
		if done {
			return got
		}
		select {
		case m := <-ch:
			got[m.topic] = m
		case <-deadline:
			t.Fatalf("topics seen %v, want %v", keys(got), want)
		}
	}
}

func keys(m map[string]message) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// expectState waits for the state topic to say want.
func expectState(t *testing.T, ch <-chan message, topic, want string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-ch:
			if m.topic == topic && m.payload == want {
				return
			}
		case <-deadline:
			t.Fatalf("%s never said %q", topic, want)
		}
	}
}

// runHooks runs h until stop is called (also at the end of the test).
func runHooks(t *testing.T, h *Hooks) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(wait):
				t.Error("hooks did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestMQTTRetainedPerKind(t *testing.T) {
	port := freePort(t)
	sock := filepath.Join(shortDir(t), "mqtt.sock")
	cases := []struct {
		name, listener, url string
		qos                 byte
	}{
		{"tcp qos 1", fmt.Sprintf("listener %d 127.0.0.1", port), fmt.Sprintf("tcp://127.0.0.1:%d", port), 1},
		{"unix socket qos 0", "listener 0 " + sock, "unix://" + sock, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			startMosquitto(t, c.listener)
			out := make(chan Outcome, 64)
			cfg := MQTTConfig{Broker: c.url, ClientID: "holdup-test", QoS: c.qos, RetryMin: 50 * time.Millisecond,
				Topics: map[Kind]string{Alarm: "site/alarms"}}
			h, err := New(Config{MQTT: &cfg, Observe: func(o Outcome) { out <- o }})
			if err != nil {
				t.Fatal(err)
			}
			stop := runHooks(t, h)
			events := sampleEvents()
			for _, e := range events {
				h.Emit(e)
			}
			for range events {
				if o := next(t, out); o.Err != nil || o.Sink != "mqtt" {
					t.Fatalf("outcome %+v", o)
				}
			}
			if st := h.Stats().MQTT; st.Delivered != uint64(len(events)) || st.Failed != 0 || st.Connected == nil || !*st.Connected {
				t.Errorf("mqtt stats %+v", st)
			}
			// A subscriber arriving later finds the latest event of each
			// kind retained, on its own topic, and the state online.
			want := []string{"holdup/state"}
			for _, k := range Kinds() {
				want = append(want, cfg.Topic(k))
			}
			live := subscribe(t, c.url, "sub-1", "#")
			got := collect(t, live, want...)
			for i, e := range events {
				m := got[cfg.Topic(e.Kind)]
				var ev Event
				if err := json.Unmarshal([]byte(m.payload), &ev); err != nil {
					t.Fatalf("%s: %v", m.topic, err)
				}
				if !m.retained || ev.Kind != e.Kind || ev.Seq != uint64(i+1) || !ev.Time.Equal(e.Time) || ev.OutageID != e.OutageID || ev.Detail != e.Detail {
					t.Errorf("%s: retained=%v %+v, want %s seq %d", m.topic, m.retained, ev, e.Kind, i+1)
				}
			}
			if m := got["holdup/state"]; m.payload != StateOnline || !m.retained {
				t.Errorf("state %+v, want retained online", m)
			}
			// A second event of a kind replaces the retained one.
			h.Emit(Event{Kind: Blip, Detail: "second"})
			if o := next(t, out); o.Err != nil {
				t.Fatal(o.Err)
			}
			stop()
			expectState(t, live, "holdup/state", StateOffline)
			later := collect(t, subscribe(t, c.url, "sub-2", "#"), "holdup/blip", "holdup/state")
			if !strings.Contains(later["holdup/blip"].payload, `"detail":"second"`) || later["holdup/state"].payload != StateOffline {
				t.Errorf("after stop: %+v", later)
			}
		})
	}
}

// shortDir is a directory with a path short enough for a unix socket.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "hk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestMQTTBrokerComesLater(t *testing.T) {
	mosquittoPath(t)
	port := freePort(t)
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	out := make(chan Outcome, 8)
	h, err := New(Config{MQTT: &MQTTConfig{Broker: url, QoS: 1, RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond},
		QueueLen: 2, Observe: func(o Outcome) { out <- o }})
	if err != nil {
		t.Fatal(err)
	}
	runHooks(t, h)
	// No broker: the events wait (the oldest dropped beyond the queue)
	// and Emit does not block.
	for _, k := range []Kind{PowerFail, OutageConfirmed, BudgetLow} {
		h.Emit(Event{Kind: k})
	}
	select {
	case o := <-out:
		t.Fatalf("delivered without a broker: %+v", o)
	default:
	}
	if st := h.Stats().MQTT; *st.Connected || st.Delivered != 0 {
		t.Errorf("stats without a broker: %+v", st)
	}
	startMosquitto(t, fmt.Sprintf("listener %d 127.0.0.1", port))
	var got []Kind
	for range 2 {
		o := next(t, out)
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		got = append(got, o.Event.Kind)
	}
	if fmt.Sprint(got) != fmt.Sprint([]Kind{OutageConfirmed, BudgetLow}) {
		t.Errorf("delivered %v, want the two newest", got)
	}
	if st := h.Stats().MQTT; st.Dropped != 1 || st.Delivered != 2 || !*st.Connected {
		t.Errorf("stats %+v", st)
	}
	m := collect(t, subscribe(t, url, "sub", "holdup/#"), "holdup/outage-confirmed")["holdup/outage-confirmed"]
	if !strings.Contains(m.payload, `"dropped":1`) {
		t.Errorf("first event after the drop does not say so: %s", m.payload)
	}
}

// proxy forwards one TCP connection to target until cut is called.
func proxy(t *testing.T, target string) (addr string, cut func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, b)
			mu.Unlock()
			go func() { _, _ = io.Copy(b, c); b.Close() }()
			go func() { _, _ = io.Copy(c, b); c.Close() }()
		}
	}()
	cut = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(cut)
	return ln.Addr().String(), cut
}

func TestMQTTLastWill(t *testing.T) {
	port := freePort(t)
	startMosquitto(t, fmt.Sprintf("listener %d 127.0.0.1", port))
	direct := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	via, cut := proxy(t, fmt.Sprintf("127.0.0.1:%d", port))
	state := subscribe(t, direct, "watch", "terminal/state")
	h, err := New(Config{MQTT: &MQTTConfig{Broker: "tcp://" + via, TopicPrefix: "terminal/", QoS: 1, RetryMin: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	runHooks(t, h)
	expectState(t, state, "terminal/state", StateOnline)
	// The connection dies without a DISCONNECT (the terminal lost power):
	// the broker publishes the last will.
	cut()
	expectState(t, state, "terminal/state", StateOffline)
	m := collect(t, subscribe(t, direct, "later", "terminal/state"), "terminal/state")["terminal/state"]
	if m.payload != StateOffline || !m.retained {
		t.Errorf("retained state %+v, want offline", m)
	}
}
