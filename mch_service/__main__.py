from mch_service.cli import main

main()
