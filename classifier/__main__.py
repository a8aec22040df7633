"""``python -m classifier`` runs the ``jianfu`` command line."""
from classifier.cli import main

if __name__ == "__main__":
    main()
