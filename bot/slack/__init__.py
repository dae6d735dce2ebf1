"""The Slack edge: the Bolt app, its listeners (one module per kind), and the delivery of what a
handler returned. Listeners are thin: ack, parse, call a handler, deliver."""
