from cbx_cli.cli import main

main()
