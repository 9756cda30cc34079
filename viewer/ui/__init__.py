"""The web app (Panel): state, layout, browser-side animation, serving. The only package that imports Panel."""
