"""The pure core of the Autotask integration: values and rules, no I/O, no clock reads."""
