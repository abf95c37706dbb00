// Command crm is the whole product in one binary:
//
//	crm serve [--demo] [--create-database]
//	                          run a node (HTTP API, webhooks, sockets, actors)
//	crm migrate               apply the database migrations and exit
//	crm admin create-superadmin --email E --password P [--name N]
//	crm demo                  create the demo plan, tenant, users and print the logins
//	crm secrets rotate        re-encrypt connection credentials and webhook secrets under a new key
//	crm license keygen|verify
//	crm version
package main
