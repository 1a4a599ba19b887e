"""The real-time event stream at `/v2/events`: market updates and system status.

Events travel from their source (a price change, an admin's status post)
through an `EventBus`, which numbers them and keeps a bounded history, to the
`StreamHub`, which encodes each event once and queues it for every connection
that subscribed to it. Each connection has its own sender task draining a
bounded queue, so one slow client never delays the others.
"""
