"""Adapters to the outside world (Todoist, Web Push); config arrives as constructor arguments."""
