package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Hooks is the [hooks] section: the terminal's other apps told of power
// events (the hooks package): a program run once per event, and/or
// retained messages on an MQTT broker ([hooks.mqtt]).
type Hooks struct {
	// Exec is the program run as `exec EVENT` with the event as JSON on
	// stdin ("" none): an absolute path.
	Exec string
	// Timeout bounds one run of the program (its process group is killed
	// then) and one broker acknowledgement.
	Timeout time.Duration
	// Queue is how many events wait per sink; beyond it the oldest is
	// dropped (and counted).
	Queue int
	// MQTT is [hooks.mqtt]; nil when no broker is configured.
	MQTT *HooksMQTT
}

// HooksMQTT is [hooks.mqtt]: the broker each event is published to,
// retained, on its kind's topic.
type HooksMQTT struct {
	// Broker is tcp://host:port (or mqtt://), unix:///path/to/socket, or
	// tls://host:port (or ssl://, mqtts://).
	Broker   string
	ClientID string // client_id, default "holdup"
	// TopicPrefix goes before each event's name ("holdup/" →
	// "holdup/power-fail"); Topics ([hooks.mqtt.topics], event = topic)
	// overrides single events; StateTopic carries "online"/"offline" (the
	// last will), default TopicPrefix + "state".
	TopicPrefix string
	Topics      map[string]string
	StateTopic  string
	QoS         int // 0 or 1, default 1
	// Username authenticates with the password read from PasswordFile
	// (an absolute path; the daemon reads it at start).
	Username     string
	PasswordFile string
	// CAFile is a PEM file of the CAs a tls:// broker's certificate is
	// checked against ("" the system's roots).
	CAFile string
}

// HookEvents returns the event names of the hooks package, the keys
// hooks.mqtt.topics may have (a daemon test holds them against
// hooks.Kinds).
func HookEvents() []string {
	return []string{"power-fail", "outage-confirmed", "blip", "budget-low", "shutdown", "power-restored", "recovery-complete", "alarm"}
}

var reClientID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func readHooks(t *table) Hooks {
	var h Hooks
	h.Exec = t.str("exec", "")
	if t.has("exec") {
		checkAbsFile(t, "exec", h.Exec, "/usr/local/lib/holdup/hook")
	}
	h.Timeout = t.duration("timeout", 10*time.Second, 100*time.Millisecond, 10*time.Minute)
	h.Queue = int(t.integer("queue", 32, 1, 1024))
	if mt := t.sub("mqtt", false); mt != nil {
		m := readHooksMQTT(mt)
		h.MQTT = &m
	}
	if !t.has("exec") && !t.has("mqtt") {
		t.get("exec")
		t.errf("exec", "give a program (exec = \"/path\") or a broker ([hooks.mqtt]), or leave [hooks] out")
	}
	t.done()
	return h
}

func readHooksMQTT(t *table) HooksMQTT {
	var m HooksMQTT
	m.Broker = t.reqStr("broker")
	tls := false
	if m.Broker != "" {
		var msg string
		msg, tls = checkBroker(m.Broker)
		if msg != "" {
			t.errf("broker", "%s (got %q)", msg, m.Broker)
		}
	}
	m.ClientID = t.str("client_id", "holdup")
	if t.has("client_id") && !reClientID.MatchString(m.ClientID) {
		t.errf("client_id", "must be 1 to 64 letters, digits, '_', '.' or '-' (got %q)", m.ClientID)
	}
	m.TopicPrefix = t.str("topic_prefix", "holdup/")
	if msg := checkTopic(m.TopicPrefix + "x"); t.has("topic_prefix") && msg != "" {
		t.errf("topic_prefix", "%s (got %q)", msg, m.TopicPrefix)
	}
	if tt := t.sub("topics", false); tt != nil {
		m.Topics = map[string]string{}
		for _, ev := range HookEvents() {
			if !tt.has(ev) {
				continue
			}
			topic := tt.str(ev, "")
			if msg := checkTopic(topic); msg != "" {
				tt.errf(ev, "%s (got %q)", msg, topic)
			}
			m.Topics[ev] = topic
		}
		tt.done(HookEvents()...)
	}
	m.StateTopic = t.str("state_topic", m.TopicPrefix+"state")
	if msg := checkTopic(m.StateTopic); t.has("state_topic") && msg != "" {
		t.errf("state_topic", "%s (got %q)", msg, m.StateTopic)
	}
	m.QoS = int(t.integer("qos", 1, 0, 1))
	m.Username = t.str("username", "")
	m.PasswordFile = t.str("password_file", "")
	if t.has("password_file") {
		checkAbsFile(t, "password_file", m.PasswordFile, "/etc/holdup/mqtt.password")
		if m.Username == "" {
			t.errf("password_file", "needs hooks.mqtt.username")
		}
	}
	m.CAFile = t.str("ca_file", "")
	if t.has("ca_file") {
		checkAbsFile(t, "ca_file", m.CAFile, "/etc/holdup/mqtt-ca.pem")
		if !tls && m.Broker != "" {
			t.errf("ca_file", "only for a tls://, ssl:// or mqtts:// broker (got %q)", m.Broker)
		}
	}
	t.done()
	return m
}

// checkAbsFile checks that a key names a file by a clean absolute path.
func checkAbsFile(t *table, k, p, example string) {
	if p == "" || !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.HasSuffix(p, "/") {
		t.errf(k, "must be a clean absolute path naming a file, like %q (got %q)", example, p)
	}
}

// checkBroker says what is wrong with an MQTT broker URL ("" nothing) and
// whether it is a TLS one. The hooks package checks the same (CheckBroker).
func checkBroker(s string) (msg string, tls bool) {
	u, err := url.Parse(s)
	if err != nil {
		return "must be a URL like \"tcp://127.0.0.1:1883\" or \"unix:///run/mosquitto/mqtt.sock\"", false
	}
	switch u.Scheme {
	case "tcp", "mqtt", "tls", "ssl", "mqtts":
		tls = u.Scheme != "tcp" && u.Scheme != "mqtt"
		if u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return "must be scheme://host:port only (a user goes in hooks.mqtt.username)", tls
		}
		if m := checkHostPort(u.Host); m != "" {
			return m, tls
		}
	case "unix":
		if u.Host != "" || !filepath.IsAbs(u.Path) || len(u.Path) > maxSocketPath {
			return fmt.Sprintf("must name an absolute socket path of at most %d bytes, like \"unix:///run/mosquitto/mqtt.sock\"", maxSocketPath), false
		}
	default:
		return "scheme must be tcp, mqtt, tls, ssl, mqtts or unix", false
	}
	return "", tls
}

// checkTopic says what is wrong with an MQTT topic to publish to.
func checkTopic(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case strings.ContainsAny(s, "+#"):
		return "must not contain the MQTT wildcards + or #"
	case strings.ContainsRune(s, 0):
		return "must not contain NUL"
	case len(s) > 65535:
		return "must be at most 65535 bytes"
	}
	return ""
}

// hooksSummary adds the [hooks] lines of the summary (ASCII, short).
func hooksSummary(h *Hooks, add func(label, format string, args ...any)) {
	if h == nil {
		add("hooks", "none")
		return
	}
	exec := "no program"
	if h.Exec != "" {
		exec = h.Exec
	}
	add("hooks", "%s, timeout %v, queue %d", exec, h.Timeout, h.Queue)
	if m := h.MQTT; m != nil {
		add("", "mqtt %s, %s<event> qos %d, %d own topic(s)", m.Broker, m.TopicPrefix, m.QoS, len(m.Topics))
	}
}
