package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHooksSection(t *testing.T) {
	c, err := Parse([]byte(minimal), "min.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Hooks != nil {
		t.Errorf("no [hooks]: Hooks = %+v, want nil", c.Hooks)
	}
	c, err = Parse([]byte(minimal+`
[hooks]
exec = "/usr/local/lib/holdup/hook"
`), "exec.toml")
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Hooks; h == nil || h.Exec != "/usr/local/lib/holdup/hook" || h.Timeout != 10*time.Second || h.Queue != 32 || h.MQTT != nil {
		t.Errorf("exec only, defaults: %+v", h)
	}
	c, err = Parse([]byte(minimal+`
[hooks]
timeout = "3s"
queue = 8

[hooks.mqtt]
broker = "tls://broker.local:8883"
client_id = "terminal-7"
topic_prefix = "site/t7/"
qos = 0
username = "holdup"
password_file = "/etc/holdup/mqtt.password"
ca_file = "/etc/holdup/ca.pem"

[hooks.mqtt.topics]
alarm = "site/alarms"
`), "mqtt.toml")
	if err != nil {
		t.Fatal(err)
	}
	h := c.Hooks
	if h == nil || h.Exec != "" || h.Timeout != 3*time.Second || h.Queue != 8 || h.MQTT == nil {
		t.Fatalf("mqtt only: %+v", h)
	}
	want := HooksMQTT{Broker: "tls://broker.local:8883", ClientID: "terminal-7", TopicPrefix: "site/t7/",
		Topics: map[string]string{"alarm": "site/alarms"}, StateTopic: "site/t7/state", QoS: 0,
		Username: "holdup", PasswordFile: "/etc/holdup/mqtt.password", CAFile: "/etc/holdup/ca.pem"}
	m := *h.MQTT
	if m.Broker != want.Broker || m.ClientID != want.ClientID || m.TopicPrefix != want.TopicPrefix || len(m.Topics) != 1 ||
		m.Topics["alarm"] != "site/alarms" || m.StateTopic != want.StateTopic || m.QoS != 0 || m.Username != want.Username ||
		m.PasswordFile != want.PasswordFile || m.CAFile != want.CAFile {
		t.Errorf("mqtt\n got %+v\nwant %+v", m, want)
	}
	sum := strings.Join(c.Summary(), "\n")
	if !strings.Contains(sum, "hooks     no program, timeout 3s, queue 8") || !strings.Contains(sum, "mqtt tls://broker.local:8883, site/t7/<event> qos 0, 1 own topic(s)") {
		t.Errorf("summary lacks the hooks:\n%s", sum)
	}
	c, err = Parse([]byte(minimal+"[hooks.mqtt]\nbroker = \"unix:///run/mosquitto/mqtt.sock\"\n"), "unix.toml")
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Hooks.MQTT; m.ClientID != "holdup" || m.TopicPrefix != "holdup/" || m.StateTopic != "holdup/state" || m.QoS != 1 {
		t.Errorf("mqtt defaults: %+v", m)
	}
}

func TestHooksErrors(t *testing.T) {
	cases := []struct{ name, extra, key, msg string }{
		{"empty section", "[hooks]\n", "hooks.exec", "give a program"},
		{"relative exec", "[hooks]\nexec = \"hook.sh\"\n", "hooks.exec", "absolute path"},
		{"unclean exec", "[hooks]\nexec = \"/usr/lib/../hook\"\n", "hooks.exec", "clean absolute path"},
		{"timeout too short", "[hooks]\nexec = \"/bin/true\"\ntimeout = \"1ms\"\n", "hooks.timeout", "must be in"},
		{"queue zero", "[hooks]\nexec = \"/bin/true\"\nqueue = 0\n", "hooks.queue", "must be in 1..1024"},
		{"unknown key", "[hooks]\nexec = \"/bin/true\"\ntimout = \"1s\"\n", "hooks.timout", `did you mean "timeout"`},
		{"broker missing", "[hooks.mqtt]\nqos = 1\n", "hooks.mqtt.broker", "required"},
		{"broker scheme", "[hooks.mqtt]\nbroker = \"http://h:1883\"\n", "hooks.mqtt.broker", "scheme must be"},
		{"broker no port", "[hooks.mqtt]\nbroker = \"tcp://h\"\n", "hooks.mqtt.broker", "host:port"},
		{"broker user in url", "[hooks.mqtt]\nbroker = \"tcp://u:p@h:1883\"\n", "hooks.mqtt.broker", "username"},
		{"broker relative socket", "[hooks.mqtt]\nbroker = \"unix://mqtt.sock\"\n", "hooks.mqtt.broker", "absolute socket path"},
		{"qos 2", "[hooks.mqtt]\nbroker = \"tcp://h:1883\"\nqos = 2\n", "hooks.mqtt.qos", "must be in 0..1"},
		{"client id", "[hooks.mqtt]\nbroker = \"tcp://h:1883\"\nclient_id = \"a b\"\n", "hooks.mqtt.client_id", "letters"},
		{"wildcard prefix", "[hooks.mqtt]\nbroker = \"tcp://h:1883\"\ntopic_prefix = \"a/#/\"\n", "hooks.mqtt.topic_prefix", "wildcards"},
		{"wildcard state", "[hooks.mqtt]\nbroker = \"tcp://h:1883\"\nstate_topic = \"a/+\"\n", "hooks.mqtt.state_topic", "wildcards"},
		{"unknown event", "[hooks.mqtt]\nbroker = \"tcp://h:1883\"\n[hooks.mqtt.topics]\npower-fial = \"x\"\n", "hooks.mqtt.topics.power-fial", `did you mean "power-fail"`},
		{"empty topic", "[hooks.mqtt]\nbroker = \"tcp://h:1883\"\n[hooks.mqtt.topics]\nblip = \"\"\n", "hooks.mqtt.topics.blip", "must not be empty"},
		{"password without user", "[hooks.mqtt]\nbroker = \"tcp://h:1883\"\npassword_file = \"/etc/p\"\n", "hooks.mqtt.password_file", "needs hooks.mqtt.username"},
		{"ca without tls", "[hooks.mqtt]\nbroker = \"tcp://h:1883\"\nca_file = \"/etc/ca.pem\"\n", "hooks.mqtt.ca_file", "only for a tls://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+"\n"+c.extra), "case.toml")
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse accepted it (err %v)", err)
			}
			found := false
			for _, e := range list {
				if e.Key == c.key && strings.Contains(e.Msg, c.msg) && e.Line > 0 {
					found = true
				}
			}
			if !found {
				t.Errorf("want an error on %s containing %q (with its line); got:\n%v", c.key, c.msg, err)
			}
		})
	}
}
