package jobs

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"crm"
)

// BotWaker is the engine as the chatbot's jobs see it: it hands a wait's end
// to the conversation grain, which runs the session's next step if the
// session still waits for exactly that wait (actors.Engine implements it;
// cmd/crm wires it in). A job run twice therefore moves the session once.
type BotWaker interface {
	BotInput(ctx context.Context, ref crm.BotWaitRef, kind string, status int, body []byte) error
}

// botWakeWorker ends a delay node's wait or a question's answer time.
type botWakeWorker struct {
	river.WorkerDefaults[crm.BotWake]
	bots BotWaker
}

func (w *botWakeWorker) Work(ctx context.Context, job *river.Job[crm.BotWake]) error {
	return w.bots.BotInput(ctx, job.Args.BotWaitRef, job.Args.Input, 0, nil)
}

// MaxBotWebhookBody bounds what a webhook node reads of an answer.
const MaxBotWebhookBody = 64 << 10

// botWebhookWorker makes a webhook node's call through the egress-guarded
// client and hands the answer to the session. A call that fails (refused
// address, timeout, connection error) is an answer too, with status 0: the
// flow takes its error handle. Only a failure to reach the grain is retried,
// so a call may be made again then; its answer still moves the session once.
type botWebhookWorker struct {
	river.WorkerDefaults[crm.BotWebhookCall]
	bots   BotWaker
	client *http.Client
}

func (w *botWebhookWorker) Work(ctx context.Context, job *river.Job[crm.BotWebhookCall]) error {
	status, body := w.call(ctx, job.Args)
	return w.bots.BotInput(ctx, job.Args.BotWaitRef, "webhook", status, body)
}

func (w *botWebhookWorker) call(ctx context.Context, a crm.BotWebhookCall) (int, []byte) {
	timeout := time.Duration(a.TimeoutMS) * time.Millisecond
	if timeout <= 0 || timeout > 30*time.Second {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := strings.ToUpper(a.Method)
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if a.Body != "" && method != http.MethodGet {
		body = strings.NewReader(a.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL, body)
	if err != nil {
		return 0, nil
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "crm-chatbot/1")
	for k, v := range a.Headers {
		req.Header.Set(k, v)
	}
	res, err := w.client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, MaxBotWebhookBody))
	if err != nil {
		return 0, nil
	}
	return res.StatusCode, raw
}

// botKinds are the chatbot's kinds, run when the node has an engine.
func botKinds(bots BotWaker, client *http.Client) []Kind {
	if client == nil {
		panic("jobs: the chatbot's webhook kind needs an HTTP client")
	}
	return []Kind{
		newKind[crm.BotWake](&botWakeWorker{bots: bots}),
		newKind[crm.BotWebhookCall](&botWebhookWorker{bots: bots, client: client}),
	}
}
