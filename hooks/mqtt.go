package hooks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Defaults of MQTTConfig.
const (
	DefaultTopicPrefix = "holdup/"
	DefaultClientID    = "holdup"
	DefaultRetryMin    = time.Second
	DefaultRetryMax    = time.Minute
)

// State payloads on MQTTConfig.StateTopic (retained): "online" once
// connected, "offline" when Run ends or (the last will) when the broker
// loses the connection.
const (
	StateOnline  = "online"
	StateOffline = "offline"
)

// publishAttempts is how often one event is published before it counts
// as failed, when the connection dropped under it.
const publishAttempts = 3

// MQTTConfig is the broker events are published to, each as a retained
// JSON message on its kind's topic.
type MQTTConfig struct {
	// Broker is the broker's URL: tcp://host:port (or mqtt://),
	// unix:///path/to/socket, tls://host:port (or ssl://, mqtts://).
	Broker string
	// ClientID is the MQTT client identifier; DefaultClientID when "".
	ClientID string
	// TopicPrefix is put before each kind for its topic ("holdup/" →
	// "holdup/power-fail"); DefaultTopicPrefix when "".
	TopicPrefix string
	// Topics overrides the topic of single kinds.
	Topics map[Kind]string
	// StateTopic carries "online"/"offline" (retained; "offline" is the
	// last will); TopicPrefix+"state" when "".
	StateTopic string
	// QoS is 0 or 1.
	QoS byte
	// Username and Password authenticate (none when Username is "").
	Username, Password string
	// TLS configures a tls:// broker (nil: the system's roots).
	TLS *tls.Config
	// RetryMin is the first reconnect interval, doubled up to RetryMax;
	// DefaultRetryMin and DefaultRetryMax when 0.
	RetryMin, RetryMax time.Duration
}

// Topic returns kind's topic.
func (c MQTTConfig) Topic(k Kind) string {
	if t, ok := c.Topics[k]; ok && t != "" {
		return t
	}
	return c.prefix() + string(k)
}

// State returns the state topic.
func (c MQTTConfig) State() string {
	if c.StateTopic != "" {
		return c.StateTopic
	}
	return c.prefix() + "state"
}

func (c MQTTConfig) prefix() string {
	if c.TopicPrefix == "" {
		return DefaultTopicPrefix
	}
	return c.TopicPrefix
}

// CheckTopic says what is wrong with t as a topic to publish to ("" when
// nothing): not empty, no wildcard, no NUL, at most 65535 bytes.
func CheckTopic(t string) string {
	switch {
	case t == "":
		return "must not be empty"
	case strings.ContainsAny(t, "+#"):
		return "must not contain the wildcards + or #"
	case strings.ContainsRune(t, 0):
		return "must not contain NUL"
	case len(t) > 65535:
		return "must be at most 65535 bytes"
	}
	return ""
}

// CheckBroker says what is wrong with a broker URL ("" when nothing).
func CheckBroker(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "must be a URL like tcp://127.0.0.1:1883 or unix:///run/mosquitto/mqtt.sock"
	}
	switch u.Scheme {
	case "tcp", "mqtt", "tls", "ssl", "mqtts":
		if u.Hostname() == "" || u.Port() == "" {
			return "must name host and port, like tcp://127.0.0.1:1883"
		}
		if u.Path != "" || u.RawQuery != "" || u.User != nil {
			return "must be scheme://host:port only (the user goes in username)"
		}
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return "must name an absolute socket path, like unix:///run/mosquitto/mqtt.sock"
		}
	default:
		return "scheme must be tcp, mqtt, tls, ssl, mqtts or unix (got " + fmt.Sprintf("%q", u.Scheme) + ")"
	}
	return ""
}

// mqttSink publishes each event, retained, on its kind's topic.
type mqttSink struct {
	cfg     MQTTConfig
	timeout time.Duration
	log     *slog.Logger
	client  mqtt.Client
	up      chan struct{} // capacity 1: the connection came up
}

func newMQTTSink(cfg MQTTConfig, timeout time.Duration, log *slog.Logger) (*mqttSink, error) {
	if msg := CheckBroker(cfg.Broker); msg != "" {
		return nil, fmt.Errorf("hooks: mqtt broker %q: %s", cfg.Broker, msg)
	}
	if cfg.QoS > 1 {
		return nil, fmt.Errorf("hooks: mqtt qos %d: must be 0 or 1", cfg.QoS)
	}
	for _, k := range Kinds() {
		if msg := CheckTopic(cfg.Topic(k)); msg != "" {
			return nil, fmt.Errorf("hooks: mqtt topic of %s %q: %s", k, cfg.Topic(k), msg)
		}
	}
	if msg := CheckTopic(cfg.State()); msg != "" {
		return nil, fmt.Errorf("hooks: mqtt state topic %q: %s", cfg.State(), msg)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	cfg.RetryMax = max(cfg.RetryMax, cfg.RetryMin)
	s := &mqttSink{cfg: cfg, timeout: timeout, log: log, up: make(chan struct{}, 1)}
	o := mqtt.NewClientOptions().AddBroker(cfg.Broker).SetClientID(cfg.ClientID).
		SetCleanSession(true).SetOrderMatters(true).
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(cfg.RetryMin).SetMaxReconnectInterval(cfg.RetryMax).
		SetConnectTimeout(timeout).SetWriteTimeout(timeout).SetKeepAlive(30*time.Second).
		SetWill(cfg.State(), StateOffline, cfg.QoS, true).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			s.log.Warn("mqtt broker connection lost; reconnecting in the background", "broker", cfg.Broker, "err", err)
		})
	if cfg.Username != "" {
		o.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	if cfg.TLS != nil {
		o.SetTLSConfig(cfg.TLS)
	}
	s.client = mqtt.NewClient(o)
	return s, nil
}

func (s *mqttSink) name() string { return "mqtt" }

func (s *mqttSink) connected() *bool {
	b := s.client.IsConnectionOpen()
	return &b
}

// onConnect runs on paho's goroutine at each (re)connection: the state
// goes "online" (not waited for: a handler must not block) and the
// publisher is woken.
func (s *mqttSink) onConnect(c mqtt.Client) {
	s.log.Info("mqtt broker connected", "broker", s.cfg.Broker)
	c.Publish(s.cfg.State(), s.cfg.QoS, true, StateOnline)
	select {
	case s.up <- struct{}{}:
	default:
	}
}

// start connects in the background (paho retries until it succeeds);
// stop marks the state "offline" and disconnects.
func (s *mqttSink) start(context.Context) (stop func()) {
	s.client.Connect() // ConnectRetry: completes when connected; never waited for
	return func() {
		if s.client.IsConnectionOpen() {
			tok := s.client.Publish(s.cfg.State(), s.cfg.QoS, true, StateOffline)
			if !tok.WaitTimeout(min(s.timeout, time.Second)) || tok.Error() != nil {
				s.log.Warn("mqtt: state not set offline before disconnecting; the broker's last will says it", "err", tok.Error())
			}
		}
		s.client.Disconnect(250)
	}
}

// deliver publishes e, retained, once the connection is up; an event
// whose connection dropped under it is published again after the
// reconnection, publishAttempts times at most.
func (s *mqttSink) deliver(ctx context.Context, e Event) error {
	topic, body := s.cfg.Topic(e.Kind), e.encode()
	var err error
	for range publishAttempts {
		for !s.client.IsConnectionOpen() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: %s (seq %d) not published: broker %s not connected", ErrStopped, e.Kind, e.Seq, s.cfg.Broker)
			case <-s.up:
			}
		}
		tok := s.client.Publish(topic, s.cfg.QoS, true, body)
		t := time.NewTimer(s.timeout)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %s (seq %d) to %s", ErrStopped, e.Kind, e.Seq, topic)
		case <-t.C:
			err = fmt.Errorf("%w: %s (seq %d) to %s: broker %s did not acknowledge within %v", ErrTimeout, e.Kind, e.Seq, topic, s.cfg.Broker, s.timeout)
		case <-tok.Done():
			t.Stop()
			if err = tok.Error(); err == nil {
				return nil
			}
			err = fmt.Errorf("hooks: publish %s (seq %d) to %s on %s: %w", e.Kind, e.Seq, topic, s.cfg.Broker, err)
		}
		if s.client.IsConnectionOpen() && !errors.Is(err, mqtt.ErrNotConnected) {
			return err // the broker is there and refused or ignored it
		}
	}
	return err
}
