package main

import (
	"context"
	"errors"
	"io"
)

func cmdJournal(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("journal: not assembled yet")
}
