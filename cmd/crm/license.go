package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"crm"
)

const licenseUsage = `usage: crm license <command>
  keygen          make an Ed25519 key pair: put the private key in CRM_LICENSE_SIGNING_KEY on the
                  platform node, the public key in CRM_LICENSE_PUBLIC_KEY on the others
  verify <key>    show what a license holds and whether it is valid on this server
                  (CRM_LICENSE_PUBLIC_KEY or CRM_LICENSE_SIGNING_KEY; CRM_SERVER_IP overrides the
                  interface addresses; CRM_LICENSE_GRACE, default 72h)`

// runLicense runs `crm license …`.
func runLicense(ctx context.Context, args []string, stdout io.Writer) error {
	return runLicenseWith(ctx, args, stdout, os.Getenv, os.Hostname, time.Now)
}

func runLicenseWith(_ context.Context, args []string, stdout io.Writer, getenv func(string) string,
	hostname func() (string, error), now func() time.Time) error {
	if len(args) == 0 {
		return errors.New(licenseUsage)
	}
	switch args[0] {
	case "keygen":
		if len(args) != 1 {
			return errors.New(licenseUsage)
		}
		private, public, err := crm.GenerateLicenseKeys()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "CRM_LICENSE_SIGNING_KEY=%s\nCRM_LICENSE_PUBLIC_KEY=%s\n", private, public)
		fmt.Fprintln(stdout, "# Keep the signing key secret: whoever holds it can issue licenses.")
		return nil
	case "verify":
		if len(args) != 2 {
			return errors.New(licenseUsage)
		}
		return verifyLicenseHere(args[1], stdout, getenv, hostname, now)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, licenseUsage)
		return nil
	}
	return fmt.Errorf("unknown license command %q\n%s", args[0], licenseUsage)
}

func verifyLicenseHere(key string, stdout io.Writer, getenv func(string) string, hostname func() (string, error),
	now func() time.Time) error {
	pub, err := crm.LicensePublicKeyFromEnv(getenv("CRM_LICENSE_PUBLIC_KEY"), getenv("CRM_LICENSE_SIGNING_KEY"))
	if err != nil {
		return err
	}
	if pub == nil {
		return errors.New("set CRM_LICENSE_PUBLIC_KEY (or CRM_LICENSE_SIGNING_KEY) to verify licenses")
	}
	ips, err := crm.ServerAddresses(getenv("CRM_SERVER_IP"))
	if err != nil {
		return err
	}
	grace, err := crm.ParseLicenseGrace(getenv("CRM_LICENSE_GRACE"))
	if err != nil {
		return err
	}
	host, _ := hostname()
	at := now()
	payload, status := crm.VerifyLicense(pub, key, crm.LicenseCheck{Now: at, ServerIPs: ips, Hostname: host, Grace: grace})
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if status.Reason != crm.LicenseBadSignature && status.Reason != crm.LicenseMissing {
		fmt.Fprintf(w, "license\t%s\n", payload.LicenseID)
		fmt.Fprintf(w, "tenant\t%s\n", payload.TenantID)
		fmt.Fprintf(w, "plan\t%s\n", payload.PlanID)
		fmt.Fprintf(w, "server ip\t%s\n", payload.ServerIP)
		if payload.Hostname != "" {
			fmt.Fprintf(w, "hostname\t%s\n", payload.Hostname)
		}
		fmt.Fprintf(w, "issued at\t%s\n", payload.IssuedAt.UTC().Format(time.RFC3339))
		fmt.Fprintf(w, "expires at\t%s\n", payload.ExpiresAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "this server\t%s (%s)\n", strings.Join(ips, ", "), host)
	switch {
	case status.Valid && status.InGrace:
		fmt.Fprintf(w, "result\tVALID (in grace: expired, service continues until %s)\n",
			payload.ExpiresAt.Add(grace).UTC().Format(time.RFC3339))
	case status.Valid:
		fmt.Fprintf(w, "result\tVALID\n")
	default:
		fmt.Fprintf(w, "result\tINVALID: %s\n", status.Reason)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if !status.Valid {
		// Revocation is not in the key: it is checked online (POST /api/v1/licenses/verify).
		return fmt.Errorf("license is not valid here: %s", status.Reason)
	}
	return nil
}
