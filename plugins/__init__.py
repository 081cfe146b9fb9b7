"""Built-in plugins. Each is registered through the ``recaudo`` entry-point group, exactly like a
third-party plugin, and switched on per tenant."""
