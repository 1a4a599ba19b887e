"""The real-time event stream at `/v2/events`: market updates and system status.

Events travel from their source (a price change, an admin's status post)
through an `EventBus`, which numbers them and keeps a bounded history, to the
`StreamHub`, which hands each event, encoded once, to every connection that
subscribed to it, a slice of connections at a time. Each connection has its
own sender task draining a bounded queue. A client that stops reading fills
only its own queue, and delays a fan-out by about 50 ms at most.
"""
