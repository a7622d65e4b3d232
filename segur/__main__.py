from segur.cli import main

main()
