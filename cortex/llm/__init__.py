"""Providers behind one model/response interface, and the CommandInterpreter."""
