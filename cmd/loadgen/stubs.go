package main

import "errors"

func reportCommand([]string) error { return errors.New("todo") }
