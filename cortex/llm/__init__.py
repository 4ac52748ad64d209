"""The Python API over plans (`CommandInterpreter`, DESIGN section 5) and the prompt templates of `inference`."""
