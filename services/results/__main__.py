from shared.serve import serve

from .app import create_app

serve(create_app())
