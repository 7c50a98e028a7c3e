from cbx_cli.cli.app import main

main()
